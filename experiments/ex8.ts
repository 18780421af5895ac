/**
 * ex8: application versions, the trap that strands work after a deploy
 * =====================================================================
 *
 * What it shows
 *   Every process has an application version, and it recovers and dequeues only workflows of its
 *   own version (as DBOS Transact). By default the version is a hash of the registered workflows'
 *   code (lib/versions/), so editing a workflow changes it. Two traps follow, and their fixes:
 *   Part 1, the version mismatch: an API server (a DBOSClient) enqueues an order for the version it
 *     was deployed with ("orders-2026-06"); a worker starts with its default version (its code's
 *     hash) and does nothing: no error anywhere, the order waits ENQUEUED. The lesson notices (a
 *     timeout), prints what `wf versions` says, restarts the worker with the shared version
 *     (DBOS__APPVERSION) and the order ships.
 *   Part 2, the deploy after a crash: a fulfil workflow crashes inside its third step (a seeded
 *     process.abort()). The code is then "edited" (a second variant of the workflow, one step
 *     added at the end) and started again: its version is another hash, so recovery leaves the
 *     crashed workflow PENDING, silently. Moving it on purpose to the running version (`wf resume
 *     ID --version V`) lets the running process finish it. With the version pinned for both runs
 *     (DBOS__APPVERSION=release-7), recovery resumes it at once, and the determinism check decides
 *     whether the edited code may replay the recorded steps: a step added at the end is fine; a
 *     step renamed in the middle fails the workflow with the determinism error (promise 4).
 *
 * Run it
 *   npx tsx experiments/ex8.ts            # SQLite (data/ex8.db)
 *   npx tsx experiments/ex8.ts --pg       # embedded PostgreSQL (or WORKBOOK_DB=pg, DATABASE_URL=...)
 *   Settings: EX8_WAIT_MS=3000 (how long part 1 waits before it calls the order stuck),
 *   WORKBOOK_SEED, WORKBOOK_P_CRASH_IN_SHIP=1 (the crash of part 2's first runs). Takes 15-40 s.
 *
 * What it prints (versions and ids vary)
 *   Part 1 ... [worker] READY version=5f0c2a... (hash) ... after 3000 ms the order is still ENQUEUED
 *   STRANDED: 1 unfinished workflow(s) of version orders-2026-06 ... (what wf versions says)
 *   ... [worker] READY version=orders-2026-06 (DBOS__APPVERSION) ... the order is SUCCESS
 *   Part 2 ... [fault] CRASHING at crash-in-ship ... [edited] READY version=9b1e... leftAlone=[...]
 *   STRANDED ... moved to version 9b1e... SUCCESS, steps reserve, charge, ship, sendReceipt
 *   pinned, a step added at the end: SUCCESS; pinned, a step renamed in the middle: ERROR UnexpectedStepError
 *   RESULT: {"mismatch":{...},"deploy":{...}}
 *
 * What to do in your own deploys
 *   Give every component of one system the same version (DBOS__APPVERSION, or applicationVersion
 *   in the config), set by your release, not computed by each process. Before deploying edited
 *   workflow code, drain: let unfinished workflows finish on the old version (keep one old
 *   executor up; `wf versions` shows what waits). Move a stranded workflow to the new version only
 *   when the new code calls the same steps, in the same order, for what was already recorded;
 *   otherwise fork it from a step before the change, or let the old version finish it.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { runFile, type ChildRun } from '../lib/child-run.js';
import { databaseFromEnv, DBOS, DBOSClient, Faults } from '../lib/index.js';
import { faultsOrExit } from '../lib/lesson.js';
import { openDatabase } from '../lib/storage/open.js';
import { wf } from '../scripts/wf.js';

const APP = 'ex8';
const QUEUE = 'ex8_orders';
const API_VERSION = 'orders-2026-06';
const PINNED = 'release-7';
const WAIT_MS = (() => {
  const raw = process.env.EX8_WAIT_MS ?? '3000';
  if (!/^\d{1,6}$/.test(raw)) {
    process.stderr.write(`BAD INPUT: EX8_WAIT_MS=${raw} is not a number of milliseconds: give a whole number, e.g. EX8_WAIT_MS=3000.\n`);
    process.exit(2);
  }
  return Number(raw);
})();
const DB_FLAGS = process.argv.filter((a) => a === '--pg' || a === '--sqlite');
const say = (line: string) => console.log(line);

// Step 1 (in the child processes): the steps, and the workflow's variants. Only the variant a
// child runs is registered, so each variant has its own default version (the hash of its code).
const step = (name: string, after?: () => void) => DBOS.registerStep(async (order: string) => {
  console.log(`STEP ${name} pid=${process.pid} order=${order}`);
  after?.();
  return `${name}:${order}`;
}, { name });
let faults: Faults | undefined;
const reserve = step('reserve');
const charge = step('charge');
const chargePayment = step('chargePayment');
const ship = step('ship', () => process.argv.includes('--crash') && faults?.crashHere('crash-in-ship'));
const sendReceipt = step('sendReceipt');

const VARIANTS = {
  shipper: async function shipOrder(order: string) {
    return [await ship(order)];
  },
  original: async function fulfil(order: string) {
    return [await reserve(order), await charge(order), await ship(order)];
  },
  // The edit that is safe to replay: the recorded steps come in the same order, one more at the end.
  appended: async function fulfil(order: string) {
    return [await reserve(order), await charge(order), await ship(order), await sendReceipt(order)];
  },
  // The edit that is not: function id 1 was recorded as "charge", this code calls "chargePayment" there.
  renamed: async function fulfil(order: string) {
    return [await reserve(order), await chargePayment(order), await ship(order)];
  },
};
type Variant = keyof typeof VARIANTS;

// Step 2 (a child): launch with one variant, then start a workflow, await what launch() recovered,
// or serve (the queue, and background recovery every 300 ms) until SIGTERM.
async function child(variant: Variant, action: string, id?: string): Promise<void> {
  faults = faultsOrExit({ 'crash-in-ship': 1 });
  const wfn = DBOS.registerWorkflow(VARIANTS[variant], { name: variant === 'shipper' ? 'shipOrder' : 'fulfil' });
  if (variant === 'shipper') DBOS.registerQueue(QUEUE, { minPollingIntervalMs: 100 });
  DBOS.setConfig({ name: APP, recoveryIntervalMs: 300 });
  await DBOS.launch();
  const r = DBOS.lastRecovery();
  // A signal listener does not keep Node alive: a timer does, until SIGTERM comes.
  const keepAlive = setInterval(() => {}, 1000);
  const stop = new Promise((resolve) => process.once('SIGTERM', resolve)).finally(() => clearInterval(keepAlive));
  const source = process.env.DBOS__APPVERSION ? 'DBOS__APPVERSION' : 'hash';
  say(`READY pid=${process.pid} variant=${variant} version=${DBOS.applicationVersion} (${source}) ` +
    `recovered=${JSON.stringify(r.recovered.map((h) => h.workflowID))} leftAlone=${JSON.stringify(r.otherVersions.map((o) => o.workflowID))}`);
  const outcome = async (h: { workflowID: string; getResult(): Promise<unknown> }) => {
    try {
      say(`OUTCOME: ${JSON.stringify({ id: h.workflowID, result: await h.getResult() })}`);
    } catch (err) {
      say(`OUTCOME: ${JSON.stringify({ id: h.workflowID, error: `${(err as Error).name}: ${(err as Error).message}` })}`);
    }
  };
  if (action === 'start') await outcome(await DBOS.startWorkflow(wfn, { workflowID: id })(id!));
  if (action === 'recover') for (const h of r.recovered) await outcome(h);
  if (action === 'serve') await stop;
  clearInterval(keepAlive);
  await DBOS.shutdown();
}

/** Runs a child to its end (or to its crash); its lines are echoed as "  [tag] ...". */
function run(tag: string, args: string[], env: Record<string, string | undefined> = {}, onLine?: (l: string, c: ChildProcess) => void): Promise<ChildRun> {
  return runFile('experiments/ex8.ts', {
    args: ['--child', ...args, ...DB_FLAGS], env: { DBOS__APPVERSION: undefined, ...env }, timeoutMs: 120_000,
    onLine: (l, c) => (console.log(`  [${tag}] ${l}`), onLine?.(l, c)),
  });
}

/** Starts a serving child and resolves once it is READY: its process, its READY line, and its end. */
async function serve(tag: string, variant: Variant, env: Record<string, string | undefined> = {}) {
  let ready!: (v: { proc: ChildProcess; line: string }) => void;
  const got = new Promise<{ proc: ChildProcess; line: string }>((r) => (ready = r));
  const end = run(tag, [variant, 'serve'], env, (l, c) => l.startsWith('READY') && ready({ proc: c, line: l }));
  const first = await Promise.race([got, end.then((e) => e)]);
  if (!('proc' in first)) throw new Error(`the ${tag} child ended before READY (exit ${first.code}):\n${first.stderr}`);
  return { ...first, version: /version=(\S+)/.exec(first.line)![1], end };
}

/** What `npm run wf -- versions --app ex8` prints, indented; its STRANDED lines too. */
async function wfSays(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const code = await wf([...args, '--app', APP, ...DB_FLAGS], process.env, (t) => lines.push(...t.split('\n')), (t) => lines.push(t));
  say(`  $ npm run wf -- ${args.join(' ')} --app ${APP}${DB_FLAGS.map((f) => ` ${f}`).join('')}   (exit ${code})`);
  for (const l of lines) say(`    ${l}`);
  return lines;
}

async function waitStatus(id: string, done: (s: string | undefined) => boolean, ms: number): Promise<string | undefined> {
  for (const end = Date.now() + ms; ; await sleep(100)) {
    const s = (await sys.getWorkflow(id))?.status;
    if (done(s) || Date.now() > end) return s;
  }
}
const stepsOf = async (id: string) => (await sys.loadOperations(id)).map((o) => o.functionName);
const outcomeOf = (r: ChildRun) => JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('OUTCOME: '))?.slice(9) ?? 'null') as { result?: unknown; error?: string } | null;

// Step 3: part 1, the version mismatch between an API server and its worker.
async function mismatch(stamp: string) {
  const id = `ex8-order-${stamp}`;
  const choice = databaseFromEnv(APP);
  const client = choice.kind === 'sqlite' ? await DBOSClient.create({ systemDatabaseUrl: choice.file, applicationName: APP })
    : choice.kind === 'postgres' ? await DBOSClient.create({ systemDatabaseUrl: choice.url, applicationName: APP })
      : await DBOSClient.create({ database: choice, applicationName: APP });
  try {
    say(`Step 1: the API server enqueues order ${id} on ${QUEUE} for its deployed version ${API_VERSION} (DBOSClient.enqueue, appVersion)`);
    await client.enqueue({ queueName: QUEUE, workflowName: 'shipOrder', workflowID: id, appVersion: API_VERSION }, id);
    say('Step 2: a worker starts with its default version (the hash of its code)');
    const w1 = await serve('worker', 'shipper');
    const stuck = await waitStatus(id, (s) => s === 'SUCCESS', WAIT_MS);
    say(`  after ${WAIT_MS} ms the order is still ${stuck}: the worker serves ${w1.version}, the order asks for ${API_VERSION}; no error anywhere`);
    say('Step 3: what wf says about it');
    const told = await wfSays(['versions']);
    w1.proc.kill('SIGTERM');
    await w1.end;
    say(`Step 4: the worker restarts with the shared version (DBOS__APPVERSION=${API_VERSION})`);
    const w2 = await serve('worker', 'shipper', { DBOS__APPVERSION: API_VERSION });
    const after = await waitStatus(id, (s) => s === 'SUCCESS', 30_000);
    w2.proc.kill('SIGTERM');
    await w2.end;
    say(`  the order is ${after}, shipped by the worker of version ${w2.version}`);
    return { order: id, clientVersion: API_VERSION, workerVersion: w1.version, statusAfterWait: stuck, wfSaidStranded: told.some((l) => l.startsWith('STRANDED') && l.includes(API_VERSION)),
      pinnedWorkerVersion: w2.version, statusAfterPin: after, shipRuns: (await stepsOf(id)).length };
  } finally {
    await client.destroy();
  }
}

// Step 4: part 2, the deploy after a crash: stranded, moved on purpose; then pinned, twice.
async function deploy(stamp: string) {
  const [w1, w2, w3] = ['moved', 'pinned-append', 'pinned-rename'].map((k) => `ex8-fulfil-${k}-${stamp}`);
  say(`Step 5: fulfil ${w1} runs with the original code, default version; it crashes inside "ship"`);
  const crashed = await run('original', ['original', 'start', w1, '--crash']);
  const crashedVersion = (await sys.getWorkflow(w1))?.applicationVersion ?? null;
  say(`  ${crashed.stderr.split('\n').find((l) => l.startsWith('[fault]')) ?? '(no [fault] line: it did not crash)'}`);
  say(`  exit ${crashed.code ?? crashed.signal}; ${w1} is ${(await sys.getWorkflow(w1))?.status} at version ${crashedVersion}, recorded: ${(await stepsOf(w1)).join(', ')}`);
  say('Step 6: the code is edited (a step added at the end) and started again: a new default version');
  const edited = await serve('edited', 'appended');
  await sleep(1000); // three background recovery passes (every 300 ms)
  const strandedStatus = (await sys.getWorkflow(w1))?.status;
  const strandedSteps = await stepsOf(w1);
  say(`  the edited process serves ${edited.version}; ${w1} is still ${strandedStatus} with ${strandedSteps.length} steps: recovery left it alone`);
  const told = await wfSays(['versions']);
  say(`Step 7: moved on purpose to the running version (the added step is at the end: safe to replay)`);
  await wfSays(['resume', w1, '--version', edited.version]);
  const moved = await waitStatus(w1, (s) => s === 'SUCCESS' || s === 'ERROR', 30_000);
  edited.proc.kill('SIGTERM');
  await edited.end;
  say(`  ${w1} is ${moved}, steps: ${(await stepsOf(w1)).join(', ')}`);
  const pinned = { DBOS__APPVERSION: PINNED };
  say(`Step 8: the same with the version pinned (DBOS__APPVERSION=${PINNED}), the edit adding a step at the end`);
  await run('original', ['original', 'start', w2, '--crash'], pinned);
  const append = await run('edited', ['appended', 'recover'], pinned);
  say(`  recovered at once: ${JSON.stringify(outcomeOf(append))}`);
  say('Step 9: pinned again, the edit renaming the step in the middle (charge -> chargePayment)');
  await run('original', ['original', 'start', w3, '--crash'], pinned);
  const rename = await run('edited', ['renamed', 'recover'], pinned);
  say(`  recovered, and the replay refused: ${JSON.stringify(outcomeOf(rename))}`);
  const row3 = await sys.getWorkflow(w3);
  return {
    crashExit: crashed.signal ?? crashed.code, crashedVersion, editedVersion: edited.version, versionsDiffer: crashedVersion !== edited.version,
    leftAloneAtLaunch: edited.line.includes(w1), strandedStatus, strandedSteps, wfSaidStranded: told.some((l) => l.startsWith('STRANDED') && l.includes(w1)),
    moved: { status: moved, steps: await stepsOf(w1) },
    pinnedAppend: { status: (await sys.getWorkflow(w2))?.status, steps: await stepsOf(w2), outcome: outcomeOf(append) },
    pinnedRename: { status: row3?.status, steps: await stepsOf(w3), error: outcomeOf(rename)?.error ?? null },
  };
}

let sys: Awaited<ReturnType<typeof openDatabase>>['db'];

if (process.argv[2] === '--child') {
  const [variant, action, id] = process.argv.slice(3);
  if (!(variant in VARIANTS)) throw new Error(`ex8 --child: unknown variant ${variant}`);
  await child(variant as Variant, action, id);
} else {
  const opened = await openDatabase(databaseFromEnv(APP), APP, 'ex8-lesson');
  sys = opened.db;
  try {
    say(`ex8 on ${sys.description}`);
    const stamp = Date.now().toString(36);
    say('\nPart 1: the API server and the worker each have their own version');
    const part1 = await mismatch(stamp);
    say('\nPart 2: a deploy after a crash');
    const part2 = await deploy(stamp);
    say(`RESULT: ${JSON.stringify({ mismatch: part1, deploy: part2 })}`);
  } catch (err) {
    process.stderr.write(`\nFAILED: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await sys.close();
    await opened.release();
  }
}
