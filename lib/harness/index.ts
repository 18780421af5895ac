// The crash-test harness: does *your* workflow survive a crash at every step?
//
//   import { crashTest } from 'durable-workbook/harness';   // in this repository: lib/harness/index.js
//   await crashTest('src/order.ts', 'order', ['order-1', 2], { db: 'sqlite' });
//
// The module may be written against DBOS Transact: inside the harness's children,
// '@dbos-inc/dbos-sdk' is this engine (dbos-shim.ts). Its own database comes fresh in every run
// through DATABASE_URL (or the variable named by appEnv), made ready by its `setup` export
// (app-database.ts).
//
// 1. Runs the workflow once without a crash, in a child process, on a fresh database: the reference.
// 2. For every function id k that run recorded (in every workflow it started), twice: a child that
//    dies by process.abort() right AFTER step k's outcome is committed, and one that dies right
//    BEFORE it is written (the step ran, its outcome is lost). For a transaction step
//    (DBOS.registerTransaction): right after its COMMIT, and inside its transaction right before COMMIT. Each on a fresh database, then
//    recovered by DBOS.launch() in another child process.
// 3. Checks each recovery against the reference (lib/harness/verdict.ts) and the application's own
//    check, prints one line per crash point, and throws a CrashTestError naming every failed one.
//
// Your module only has to export the workflow (what DBOS.registerWorkflow returned) and must not
// launch the engine when imported. Optional exports: `check` (see CheckContext) and
// `crashTestArgs` (the arguments when none are given).
import { resolve } from 'node:path';
import { ConfigError, WorkbookError } from '../errors.js';
import { appLocation, checkEnvName, DEFAULT_APP_ENV } from './app-database.js';
import { databasePlan, parseDb, type HarnessDb } from './databases.js';
import { selectPoints } from './points.js';
import { CrashTestError, formatPoint, formatReport, replayCommand, type CrashPointReport, type CrashTestReport } from './report.js';
import { eventOf, howItEnded, runChild, tail, type ChildJob } from './spawn.js';
import { judge, type CrashPoint, type Reference } from './verdict.js';
import { ENV, type CrashWhen } from './protocol.js';

export type { Check, CheckContext, CrashWhen, Setup, SetupContext } from './protocol.js';
export type { AppClient } from './app-database.js';
export { HarnessUnsupportedError } from './dbos-shim.js';
export { CrashTestError, type CrashPointReport, type CrashTestReport } from './report.js';
export { runChild, type ChildJob, type ChildRun } from './spawn.js';

export interface CrashTestOptions {
  /** sqlite (default) or pg: a fresh SQLite file, or a fresh PostgreSQL database, per run */
  db?: HarnessDb | string;
  /** the export of the module used as the check (default "check", when the module has one) */
  check?: string;
  /** the export of the module that creates the application's tables on a fresh database (default "setup", when the module has one) */
  setup?: string;
  /** the environment variable the application reads its database from (default DATABASE_URL) */
  appEnv?: string;
  /** how a failure's replay line starts (default "npx durable-workbook crash-test"; here: "npm run crash-test --") */
  command?: string;
  /** only these crash points, e.g. ['1:before'] or ['chargeCard'] (function id or step name, optionally :after or :before) */
  points?: string[];
  /** tables whose row counts must equal the reference run's after every recovery (default none) */
  tables?: string[];
  /** crash right after the outcome is recorded, right before, or both (default both) */
  when?: CrashWhen[];
  /** the application name: the app schema on PostgreSQL (default "crashtest") */
  app?: string;
  /** the workflow id of every run, so ids derived from it repeat (default "crash-test") */
  workflowID?: string;
  /** crash points tested at once, each in its own processes and database (default 1) */
  concurrency?: number;
  /** one child process may take this long, in ms (default 60000) */
  timeoutMs?: number;
  /** true: keep the databases even when every crash point passed; false: never (default: kept when one failed) */
  keepDatabases?: boolean;
  /** where progress lines go (default console.log); pass () => {} for silence */
  log?: (line: string) => void;
  /** throw a CrashTestError when a crash point fails (default true); false: read report.ok */
  throwOnFailure?: boolean;
  /** the environment for the database choice (default process.env): DATABASE_URL, WORKBOOK_DATA_DIR */
  env?: NodeJS.ProcessEnv;
}

/** A crash point's database, named by it: step1-chargeCard-before (other workflows than the top one: wf2-step0-...). */
function pointLabel(p: CrashPoint, topID: string, workflowIDs: string[]): string {
  const wf = p.workflowID === topID ? '' : `wf${workflowIDs.indexOf(p.workflowID)}-`;
  return `${wf}step${p.functionID}-${p.name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 24)}-${p.when}`;
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/**
 * Crash-tests the workflow exported as `workflowName` by `modulePath` ('' finds the only one),
 * started with `args` (undefined: the module's crashTestArgs export, or no arguments).
 */
export async function crashTest(modulePath: string, workflowName = '', args?: unknown[], options: CrashTestOptions = {}): Promise<CrashTestReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const kind = parseDb(options.db);
  const whens = options.when ?? ['after', 'before', 'end'];
  if (whens.length === 0 || whens.some((w) => w !== 'after' && w !== 'before' && w !== 'end')) {
    throw new ConfigError(`when: ${JSON.stringify(options.when)} is not a crash moment: use any of 'after', 'before' and 'end' (--when after,before,end).`);
  }
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`concurrency ${options.concurrency} (--jobs) is not a whole number >= 1.`);
  const path = resolve(modulePath);
  const appEnv = checkEnvName(options.appEnv ?? DEFAULT_APP_ENV);
  const plan = await databasePlan(kind, options.env ?? process.env);
  const base = {
    modulePath: path, exportName: workflowName, argsJson: args === undefined ? '' : JSON.stringify(args),
    app: options.app ?? 'crashtest', workflowID: options.workflowID ?? 'crash-test', check: options.check ?? '',
    tables: options.tables ?? [], timeoutMs: options.timeoutMs ?? 60_000, setup: options.setup ?? '',
  };
  /** The engine's fresh database and the application's, in the variable the application reads. */
  const fresh = async (label: string) => {
    const env = await plan.fresh(label);
    const at = appLocation(kind, env);
    return { ...env, [appEnv]: at, [ENV.appKind]: kind, [ENV.appUrl]: at };
  };
  const job = async (label: string, extra: Partial<ChildJob>) => runChild({ ...base, mode: 'run', env: await fresh(label), ...extra });
  let report: CrashTestReport | undefined;
  try {
    // Step 1: the reference run.
    const refRun = await job('ref', {});
    const bad = eventOf(refRun, 'bad-input');
    if (bad) throw new ConfigError(bad.message);
    const outcome = eventOf(refRun, 'outcome');
    const recorded = eventOf(refRun, 'recorded');
    const check = eventOf(refRun, 'check');
    if (!outcome || !recorded || !check || refRun.code !== 0) {
      throw new WorkbookError('CRASH_TEST_REFERENCE', `the reference run (no crash) of ${modulePath} did not finish (${howItEnded(refRun)}):\n${tail(refRun, 30)}`);
    }
    if (check.problems.length) {
      throw new WorkbookError('CRASH_TEST_REFERENCE', `the check fails on the reference run, without any crash: ${check.problems.join('; ')}. Fix the workflow or the check first.`);
    }
    const ref: Reference = { outcome: outcome.outcome, recorded: recorded.state, tableCounts: check.tableCounts };
    const name = ref.recorded[base.workflowID]?.name ?? workflowName;
    log(`crash test: ${modulePath} (${name}) on ${kind}; reference run: ${ref.outcome.status}, ` +
      `${Object.values(ref.recorded).reduce((n, w) => n + w.ops.length, 0)} recorded outcomes`);

    // Step 2: every crash point, after and before its recording; and each workflow's end, its last outcome still pending.
    const all: CrashPoint[] = Object.entries(ref.recorded).flatMap(([workflowID, w]) => [
      ...w.ops.flatMap((o) => whens.filter((when) => when !== 'end').map((when) => ({ workflowID, functionID: o.functionID, name: o.name, when }))),
      ...(whens.includes('end') ? [{ workflowID, functionID: w.ops.at(-1)?.functionID ?? -1, name: w.ops.at(-1)?.name ?? '(no step)', when: 'end' as const }] : []),
    ]);
    const points = selectPoints(all, options.points, base.workflowID);
    const replay = (p: CrashPoint) => replayCommand({ ...base, command: options.command ?? 'npx durable-workbook crash-test', modulePath, workflowName, args, db: kind, appEnv, point: p, topID: base.workflowID });
    const results = new Map<CrashPoint, CrashPointReport>();
    await pool(points, concurrency, async (p) => {
      const label = pointLabel(p, base.workflowID, Object.keys(ref.recorded));
      const env = await fresh(label);
      const crashed = await runChild({ ...base, mode: 'run', env, crash: p });
      const recovered = eventOf(crashed, 'crashing') ? await runChild({ ...base, mode: 'recover', env }) : undefined;
      const v = judge(ref, base.workflowID, p, crashed, recovered);
      const r: CrashPointReport = { ...p, ok: v.problems.length === 0, problems: v.problems, ranTwice: v.ranTwice, replayed: v.replayed, database: plan.locate(label), replay: replay(p) };
      if (eventOf(crashed, 'crashing')?.transaction) r.transaction = true;
      results.set(p, r);
      log(formatPoint(r));
    });

    // Step 3: the verdict.
    const list = points.map((p) => results.get(p)!);
    report = { ok: list.every((r) => r.ok), module: modulePath, workflowName: name, db: kind, reference: ref.outcome, points: list };
  } finally {
    const keep = options.keepDatabases ?? report?.ok === false;
    if (report && keep) report.kept = plan.where();
    await plan.cleanup(keep);
  }
  log(formatReport(report!));
  if (!report!.ok && options.throwOnFailure !== false) throw new CrashTestError(report!);
  return report!;
}
