/**
 * npm run wf -- <command>: see and steer workflows, without writing SQL
 * =====================================================================
 *
 * Commands (named as DBOS's CLI, `dbos workflow list|get|steps|resume|cancel`)
 *   list [--status S,S] [--name N] [--since 10m|2h|1d|ISO] [--limit 20] [--children]
 *                   newest first, a table; top-level workflows only, unless --children
 *   get <id>        status, inputs, output or error, executions, times
 *   steps <id>      each function id: name, run, outcome, attempts, time; then a timeline that shows
 *                   which run of the process (the first, each recovery) recorded what
 *   resume <id>     a CANCELLED or parked (MAX_RECOVERY_ATTEMPTS_EXCEEDED) workflow becomes PENDING
 *                   with its recovery count reset; its application runs it at its next start
 *     --version V   also restamp it with application version V (a PENDING one too): a workflow
 *                   stranded by a deploy moves to the running version (README: when that is safe)
 *   versions        per application version, unfinished workflows and the live executors serving
 *                   it; says STRANDED when unfinished work has no live executor of its version
 *   cancel <id>     a PENDING workflow becomes CANCELLED; a process running it stops at its next step
 *   --json          machine-readable output (list, get, steps)
 *
 * Which database: as the experiments (lib/config.ts).
 *   npm run wf -- list --app ex6                  SQLite data/ex6.db
 *   WORKBOOK_DB=pg npm run wf -- list --app ex6   embedded PostgreSQL (--app filters by application)
 *   DATABASE_URL=postgres://... npm run wf -- list
 *   WORKBOOK_SQLITE_FILE=path npm run wf -- list
 * It opens the database without recovering anything: looking never runs a workflow. Everything it
 * prints from the database goes through printable() (lib/printable.ts): a control character in an
 * id, a name, an input or an error is shown as an escape (\x1b, \n), never sent to the terminal.
 *
 * Exit 0: done. 1: the database failed. 2: bad input (unknown command, id, option: the message
 * says the fix).
 */
import Table from 'cli-table3';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkAppName, databaseFromEnv } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { describeExecutions, formatMs, renderTimeline } from '../lib/harness/timeline.js';
import { isBadInput } from '../lib/lesson.js';
import { printable, printableJson, printableRow } from '../lib/printable.js';
import { deserialize, deserializeError, shown, type RecordedError } from '../lib/serialize.js';
import { withDatabase } from '../lib/storage/open.js';
import { wfSchedules } from './wf-schedules.js';
import { wfVersions } from './wf-versions.js';
import { isQueueCommand, wfQueues } from './wf-queues.js';
import { cancel, errorLines, mustGet, resume, type Again, type Out } from '../lib/wf/actions.js';
import { isUnfinished, WORKFLOW_STATUSES, type SystemDatabase, type WorkflowRow, type WorkflowStatusValue } from '../lib/storage/types.js';

const USAGE = `usage: npm run wf -- <list|get|steps|resume|cancel|versions> [id] [--version V] [--app NAME] [--status S] [--name N] [--since 1h] [--limit N] [--children] [--json] [--pg|--sqlite]`;
const STATUSES: readonly WorkflowStatusValue[] = WORKFLOW_STATUSES;
const COMMANDS = ['list', 'get', 'steps', 'resume', 'cancel'];

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
const clip = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });

function parseSince(raw: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(raw.trim());
  if (m) return Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's']!;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new ConfigError(`--since ${raw} is not a time: give an age (30s, 10m, 2h, 1d) or a date (2026-01-31 or 2026-01-31T12:00:00Z).`);
  return t;
}

function parseStatus(raw: string): WorkflowStatusValue[] {
  return raw.split(',').map((s) => {
    const v = s.trim().toUpperCase();
    if (!STATUSES.includes(v as WorkflowStatusValue)) throw new ConfigError(`--status ${s} is not a status: use one or more of ${STATUSES.join(', ')} (comma-separated).`);
    return v as WorkflowStatusValue;
  });
}

function workflowJson(w: WorkflowRow) {
  return { ...w, inputs: deserialize(w.inputs), output: deserialize(w.output), error: w.error === null ? null : deserializeError(w.error).message };
}

type Opts = { app?: string; status?: string; name?: string; since?: string; limit?: string; json?: boolean; children?: boolean; version?: string };

async function list(sys: SystemDatabase, o: Opts, out: Out): Promise<void> {
  const limit = o.limit === undefined ? 20 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit ${o.limit} is not a whole number >= 1.`);
  const filter = {
    status: o.status ? parseStatus(o.status) : undefined, workflowName: o.name, applicationID: o.app,
    startTime: o.since ? parseSince(o.since) : undefined, sortDesc: true,
  };
  // Top-level workflows only, unless --children: ex5's 10 batch workflows would fill the list and hide their parent.
  const rows: WorkflowRow[] = [];
  let hidden = 0;
  const page = Math.max(100, limit * 4);
  for (let offset = 0; rows.length < limit; offset += page) {
    const got = await sys.listWorkflows({ ...filter, limit: page, offset });
    for (const w of got) {
      if (!o.children && w.parentWorkflowID) hidden++;
      else if (rows.length < limit) rows.push(w);
    }
    if (got.length < page) break;
  }
  if (o.json) return void out(printableJson(rows.map(workflowJson)));
  const t = table(['workflow id', 'name', 'status', 'version', 'executions', 'created', 'took']);
  for (const w of rows.map(printableRow)) {
    const done = !isUnfinished(w.status);
    // A default version is a 32-digit hash: its first 12 tell versions apart (wf get shows it whole).
    const version = w.applicationVersion === null ? '-' : /^[0-9a-f]{32}$/.test(w.applicationVersion) ? `${w.applicationVersion.slice(0, 12)}...` : w.applicationVersion;
    t.push([w.workflowID, w.name, w.status, version, w.recoveryAttempts, time(w.createdAt), done ? formatMs(w.updatedAt - w.createdAt) : '-']);
  }
  out(rows.length ? t.toString() : 'no workflows match.');
  if (rows.length === limit) out(`(the newest ${limit}; --limit shows more)`);
  if (hidden) out(`(${hidden} child workflow${hidden === 1 ? '' : 's'} not shown: --children lists them too)`);
}

async function get(sys: SystemDatabase, id: string | undefined, o: Opts, out: Out, again: Again): Promise<void> {
  const raw = await mustGet(sys, id, 'get');
  const ops = await sys.loadOperations(raw.workflowID);
  if (o.json) return void out(printableJson({ ...workflowJson(raw), steps: ops.length }));
  const w = printableRow(raw);
  // recovery_attempts counts the executions since the workflow was created or last resumed: a resume
  // sets it to 0. A step recorded by a later run than that count shows executions before a resume.
  const before = Math.max(0, ...ops.map((s) => s.executionAttempt ?? 0));
  const executions = `${w.recoveryAttempts} (recovery_attempts: ${describeExecutions(w.recoveryAttempts)}; counted since it was created or last ` +
    `resumed, a resume starts it again${before > w.recoveryAttempts ? `; it ran at least ${before} times before its last resume` : ''})`;
  const lines: [string, string][] = [
    ['workflow', w.workflowID], ['name', w.name], ['status', w.status],
    ['application', `${w.applicationID ?? '?'} (version ${w.applicationVersion ?? '?'})`],
    ['executions', executions],
    ['inputs', clip(shown(w.inputs) ?? 'none', 200)],
  ];
  if (w.status === 'SUCCESS') lines.push(['output', clip(shown(w.output) ?? 'none (undefined)', 200)]);
  if (w.error !== null) errorLines(w.error).forEach((l, i) => lines.push([i ? '' : 'error', l]));
  lines.push(['created', time(w.createdAt)], ['updated', time(w.updatedAt)]);
  if (!isUnfinished(w.status)) lines.push(['took', formatMs(w.updatedAt - w.createdAt)]);
  lines.push(['executor', w.executorID ?? 'none']);
  if (w.parentWorkflowID) lines.push(['parent', w.parentWorkflowID]);
  lines.push(['steps', `${ops.length} recorded (${again('steps', raw.workflowID)})`]);
  for (const [k, v] of lines) out(`${k.padEnd(12)} ${v}`);
}

async function steps(sys: SystemDatabase, id: string | undefined, o: Opts, out: Out): Promise<void> {
  const raw = await mustGet(sys, id, 'steps');
  const rawOps = await sys.loadOperations(raw.workflowID);
  if (o.json) {
    return void out(printableJson(rawOps.map((s) => ({ ...s, output: deserialize(s.output), error: s.error === null ? null : errorLines(s.error) }))));
  }
  const w = printableRow(raw);
  const ops = rawOps.map((s) => ({ ...printableRow(s), error: s.error }));
  out(`workflow ${w.workflowID} (${w.name}): ${w.status}`);
  const t = table(['#', 'step', 'run', 'outcome', 'attempts', 'took']);
  for (const s of ops) {
    const outcome = s.childWorkflowID !== null ? `child workflow ${s.childWorkflowID}`
      : s.error !== null ? `error: ${clip(errorLines(s.error)[0], 50)}` : `ok: ${clip(shown(s.output) ?? 'undefined', 40)}`;
    t.push([s.functionID, s.functionName, s.executionAttempt ?? '?', outcome, s.attempts, formatMs(s.completedAtEpochMs - s.startedAtEpochMs)]);
  }
  out(ops.length ? t.toString() : 'no step recorded.');
  for (const s of ops.filter((x) => x.error !== null && deserialize<RecordedError>(x.error).errors?.length)) {
    out(`step ${s.functionID} (${s.functionName}) failed after ${s.attempts} attempts:`);
    for (const l of errorLines(s.error!).slice(1)) out(`  ${l}`);
  }
  const retried = ops.filter((x) => x.error === null && x.attempts > 1);
  if (retried.length) out(`succeeded after retries (the failed attempts' errors are logged, not recorded): ${retried.map((x) => `${x.functionID} (${x.functionName}) x${x.attempts}`).join(', ')}`);
  out('');
  for (const l of renderTimeline(w, ops)) out(l);
}

/**
 * Runs one wf command: `argv` as after "npm run wf --", the environment for the database choice.
 * Returns the exit code: 0 done, 1 the database failed, 2 bad input (the message says the fix).
 */
export async function wf(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  if (isQueueCommand(argv)) return wfQueues(argv, env, out, err); // queues, list --queue: scripts/wf-queues.ts
  try {
    await run(argv, env, out);
    return 0;
  } catch (e) {
    const bad = isBadInput(e) || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    err(`${bad ? 'BAD INPUT' : 'FAILED'}: ${(e as Error).message}${bad ? `\n${USAGE}` : ''}`);
    return bad ? 2 : 1;
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<void> {
  if (argv[0] === 'schedules') return wfSchedules(argv.slice(1), env, out); // scripts/wf-schedules.ts
  if (argv[0] === 'versions') return wfVersions(argv.slice(1), env, out); // scripts/wf-versions.ts
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      app: { type: 'string' }, status: { type: 'string' }, name: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' },
      json: { type: 'boolean' }, children: { type: 'boolean' }, pg: { type: 'boolean' }, sqlite: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'string' },
    },
  });
  const [command, id, ...extra] = positionals;
  if (o.help) return void out(USAGE);
  if (!command) throw new ConfigError(`give a command: ${COMMANDS.join(', ')}.`);
  if (!COMMANDS.includes(command)) throw new ConfigError(`"${command}" is not a wf command: use ${COMMANDS.join(', ')}.`);
  if (extra.length || (command === 'list' && id)) throw new ConfigError(`wf ${command} takes ${command === 'list' ? 'no id' : 'one id'} (got: ${positionals.slice(1).join(' ')}).`);
  if (o.version !== undefined && command !== 'resume') throw new ConfigError(`--version goes with wf resume (it moves a workflow to that application version), not with wf ${command}.`);
  if (o.app) checkAppName(o.app);
  const choice = databaseFromEnv(o.app ?? 'wf', env, argv);
  if (choice.kind === 'sqlite') {
    if (!o.app && !env.WORKBOOK_SQLITE_FILE) {
      throw new ConfigError('wf needs to know which database to open: pass --app NAME for data/NAME.db (e.g. --app ex6), or set WORKBOOK_SQLITE_FILE; for PostgreSQL set WORKBOOK_DB=pg or DATABASE_URL.');
    }
    if (!existsSync(choice.file)) {
      throw new ConfigError(`there is no database at ${choice.file}: run the application first (e.g. npx tsx experiments/${o.app ?? 'ex1'}.ts), or check --app and WORKBOOK_SQLITE_FILE.`);
    }
  }
  if (choice.kind === 'embedded-postgres' && !existsSync(`${choice.dir}/PG_VERSION`)) {
    throw new ConfigError(`there is no embedded PostgreSQL in ${choice.dir} yet: run an experiment with WORKBOOK_DB=pg first, or set DATABASE_URL to your server.`);
  }
  const again: Again = (cmd, wid) => `npm run wf -- ${cmd} ${/^[\w.:@+-]+$/.test(wid) ? wid : `'${printable(wid).replace(/'/g, `'\\''`)}'`}` +
    `${o.app ? ` --app ${o.app}` : ''}${o.pg ? ' --pg' : o.sqlite ? ' --sqlite' : ''}`;
  // Opened directly, not through DBOS.launch(): that would recover (run) the application's PENDING workflows.
  await withDatabase(choice, o.app ?? 'public', `workbook-wf-${process.pid}`, async (db) => {
    if (command === 'list') await list(db, o, out);
    else if (command === 'get') await get(db, id, o, out, again);
    else if (command === 'steps') await steps(db, id, o, out);
    else if (command === 'resume') await resume(db, id, o, out, again);
    else await cancel(db, id, out, again);
  });
}

// Run as a command (not when a test imports wf()).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await wf(process.argv.slice(2), process.env, (t) => console.log(t), (t) => process.stderr.write(`${t}\n`));
}
