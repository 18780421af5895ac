// What every experiment does around its lesson: configure and launch the engine, run the lesson,
// shut down cleanly, and turn a failure into a clear message and an exit code.
//   exit 0  the lesson finished
//   exit 1  the lesson's workflow failed (in ex2 that is the lesson)
//   exit 2  bad input: configuration, environment, database location (the message says the fix)
// A crash injected by lib/faults.ts ends the process by SIGABRT instead (exit code 134 in a shell).
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from './handle.js';
import { DBOS, hasDBOSCode, launchEngine, shutdownEngine } from './engine-choice.js';
import { ConfigError, DatabaseConnectionError, DatabaseUrlError, WorkbookError } from './errors.js';
import { Faults } from './faults.js';
import { checkLessonArgs, DATABASE_FLAGS, type LessonFlag, unknownVariables } from './lesson-input.js';
import { log } from './log.js';
import { redactText } from './redact.js';
import { isUnfinished, UNFINISHED } from './storage/types.js';

export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export function isBadInput(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof DatabaseUrlError || err instanceof DatabaseConnectionError;
}

/** The flags of a lesson that finds or resumes its workflow (findOrStart): the database's, and --resume <id>. */
export const RESUMING_FLAGS: LessonFlag[] = [...DATABASE_FLAGS, { flag: '--resume', value: '<id>', help: 'resume that workflow on purpose' }];

export interface LessonOptions {
  /** the command-line flags it takes; anything else is refused with exit 2 (unset: not checked) */
  flags?: LessonFlag[];
}

/** When this run's launch() began (epoch ms): a workflow parked since then was parked by this run. */
let launchedAt = 0;
/** The application runLesson launched (the lesson's name: its SQLite file, its schema, wf's --app). */
let lessonApp = '';

/**
 * Runs `lesson` with the chosen engine (lib/engine-choice.ts: the workbook's, or DBOS Transact)
 * launched for application `name`; never leaves the process hanging.
 */
export async function runLesson(name: string, lesson: () => Promise<number | void>, options: LessonOptions = {}): Promise<void> {
  let code = 0;
  try {
    if (options.flags) checkLessonArgs(name, options.flags);
    for (const warning of unknownVariables(name)) log.warn(warning);
    launchedAt = Date.now();
    lessonApp = name;
    await launchEngine(name);
    code = (await lesson()) ?? 0;
  } catch (err) {
    code = isBadInput(err) ? EXIT_BAD_INPUT : EXIT_FAILED;
    // A WorkbookError's message is redacted already (lib/errors.ts); a driver's error is redacted here.
    const msg = err instanceof WorkbookError ? err.message : redactText(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.stderr.write(`\n${isBadInput(err) ? 'BAD INPUT' : 'FAILED'}: ${msg}\n`);
  } finally {
    await shutdownEngine().catch((e) => process.stderr.write(`shutdown: ${(e as Error).message}\n`));
  }
  process.exitCode = code;
}

/**
 * The fault settings of a lesson, read before launch() (a recovered run injects faults too): bad
 * ones end the process here with exit 2 and the fix.
 */
export function faultsOrExit(sites: Record<string, number>, defaultSeed = 1): Faults {
  try {
    return new Faults(sites, process.env, defaultSeed);
  } catch (err) {
    process.stderr.write(`BAD INPUT: ${(err as Error).message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
}

export type How = 'new' | 'recovered' | 'attached' | 'resumed';
export type Found<R> = { handle: WorkflowHandle<R>; how: How } | { parked: string };

/** The dead letter's error to whoever awaits it (DBOSAwaitedWorkflowExceededMaxRecoveryAttempts, code 30, on both engines). */
export const isParked = (err: unknown): boolean => hasDBOSCode(err, 30);

/** The workflow's result, or its id as parked when this launch parked it a moment before (the awaiter gets DBOS's error, code 30). */
export async function resultOrParked<R>(handle: WorkflowHandle<R>): Promise<{ result: R } | { parked: string }> {
  try {
    return { result: await handle.getResult() };
  } catch (err) {
    if (isParked(err)) return { parked: handle.workflowID };
    throw err;
  }
}

/** --resume <id> and WORKBOOK_WAIT_MS (default 2000), checked. */
export function findSettings(argv = process.argv, env = process.env): { resumeID?: string; waitMs: number } {
  const i = argv.indexOf('--resume');
  const resumeID = i >= 0 ? argv[i + 1] : undefined;
  if (i >= 0 && (!resumeID || resumeID.startsWith('--'))) throw new ConfigError('--resume needs a workflow id: --resume <id> (DBOS.listWorkflows or the query printed for a parked workflow shows it).');
  const raw = env.WORKBOOK_WAIT_MS ?? '2000';
  if (!/^\d{1,7}$/.test(raw)) throw new ConfigError(`WORKBOOK_WAIT_MS=${raw} is not a wait: give a whole number of milliseconds, e.g. WORKBOOK_WAIT_MS=2000.`);
  return { resumeID, waitMs: Number(raw) };
}

/**
 * The id of a workflow named `name` that this run's launch() recovered and that has finished
 * already (a last step is quick): it was PENDING before this run began, and ended here since. A
 * lesson that looks for unfinished work after launch() would otherwise miss it and start another.
 */
export async function recoveredAndFinishedHere(name: string): Promise<string | undefined> {
  const [last] = await DBOS.listWorkflows({ workflowName: name, sortDesc: true, limit: 1 });
  const here = last && last.executorId === DBOS.executorID && !isUnfinished(last.status);
  return here && (last.updatedAt ?? 0) >= launchedAt && (last.createdAt ?? 0) < launchedAt ? last.workflowID : undefined;
}

/**
 * Finds the workflow a crashed run left behind, or starts a new one, and says which and why (ex3
 * explains each branch). `start` starts a new execution of the lesson's workflow. Both engines
 * answer it the same way, from DBOS.listWorkflows after launch():
 *   - parked: the latest `name` became MAX_RECOVERY_ATTEMPTS_EXCEEDED during this launch (the
 *     workbook parks it in launch(); DBOS may park it a moment later: then getResult() says so,
 *     see isParked);
 *   - none unfinished: start a new one;
 *   - one unfinished that launch() took over here (its executorId is ours; on DBOS every process
 *     is "local", so launch() takes every one: see the README's differences);
 *   - one whose owner looks alive (the workbook only): wait WORKBOOK_WAIT_MS for it, then attach.
 */
export async function findOrStart<R>(name: string, start: () => Promise<WorkflowHandle<R>>): Promise<Found<R>> {
  const { resumeID, waitMs } = findSettings();
  if (resumeID) {
    if (!(await DBOS.getWorkflowStatus(resumeID))) {
      throw new ConfigError(`--resume ${resumeID}: there is no workflow with that id in ${lessonApp}'s database. ` +
        `List them with npm run wf -- list --app ${lessonApp} (with the WORKBOOK_DB or DATABASE_URL of the run that made it).`);
    }
    console.log(`resuming workflow ${resumeID} on purpose (--resume): its recovery count starts again`);
    // On purpose means here: a workflow of another application version (older code) moves to this
    // one, whose code replays its recorded steps (README, ex8: when that is safe).
    const handle = await DBOS.resumeWorkflow<R>(resumeID, { applicationVersion: DBOS.applicationVersion });
    return { handle: handle as WorkflowHandle<R>, how: 'resumed' };
  }
  const [latest] = await DBOS.listWorkflows({ workflowName: name, sortDesc: true, limit: 1 });
  if (latest?.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' && (latest.updatedAt ?? 0) >= launchedAt) return { parked: latest.workflowID };
  const unfinished = await DBOS.listWorkflows({ status: UNFINISHED, workflowName: name });
  // DBOS recovers only the workflows of its own application version (a hash of the code): one left
  // by an older version stays PENDING, and waiting for it would wait forever.
  const pending = unfinished.filter((w) => w.applicationVersion === undefined || w.applicationVersion === DBOS.applicationVersion);
  for (const w of unfinished.filter((x) => !pending.includes(x))) {
    console.log(`workflow ${w.workflowID} is ${w.status} from application version ${w.applicationVersion}, not this one (${DBOS.applicationVersion}): launch() does not recover it. Resume it on purpose with --resume ${w.workflowID}.`);
  }
  if (pending.length === 0) {
    const done = await recoveredAndFinishedHere(name);
    if (done) {
      console.log(`launch() found workflow ${done} PENDING with its process gone, and recovered it here`);
      return { handle: DBOS.retrieveWorkflow<R>(done), how: 'recovered' };
    }
    console.log(`no unfinished ${name}: starting a new one`);
    return { handle: await start(), how: 'new' };
  }
  const id = pending[0].workflowID;
  if (pending[0].executorId === DBOS.executorID || pending[0].status === 'ENQUEUED') {
    console.log(`launch() found workflow ${id} PENDING with its process gone, and recovered it here`);
    return { handle: DBOS.retrieveWorkflow<R>(id), how: 'recovered' };
  }
  // Its owner looks alive: give it a moment to finish elsewhere before we step in.
  console.log(`workflow ${id} is PENDING and its owner looks alive: waiting up to ${waitMs} ms (WORKBOOK_WAIT_MS) for it to finish there`);
  for (const end = Date.now() + waitMs; Date.now() < end; ) {
    await sleep(100);
    const row = await DBOS.getWorkflowStatus(id);
    if (row && !isUnfinished(row.status)) {
      console.log(`workflow ${id} finished elsewhere (${row.status}): nothing to resume, starting a new one`);
      return { handle: await start(), how: 'new' };
    }
  }
  console.log(`workflow ${id} is still PENDING: attaching to it (taken over here if its owner is gone, else we wait for the owner)`);
  return { handle: (await DBOS.resumeWorkflow<R>(id)) as WorkflowHandle<R>, how: 'attached' };
}
