// The raw limit: single-row INSERT + commit per row, with the engine's own driver and durability
// settings and nothing else (no engine, no JSON checks, no fence). A durable step cannot cost
// less than one of these, so every engine figure is shown as a ratio to this rate.
//   SQLite: better-sqlite3 on the same file, configured by the engine's configureSqlite (WAL,
//           synchronous=NORMAL): a commit appends the changed page to the WAL, no fsync.
//   PostgreSQL: one pg client, one prepared INSERT per row in autocommit mode: the server
//           flushes (fsyncs) its WAL at every commit, as it does for the engine's writes.
import Database from 'better-sqlite3';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { numberedPlaceholders } from '../lib/storage/postgres.js';
import { serialize } from '../lib/serialize.js';
import { hotParams, hotStatements } from '../lib/storage/hot-sql.js';
import { configureSqlite } from '../lib/storage/sqlite.js';
import type { NewWorkflow, OperationRow } from '../lib/storage/types.js';
import { BENCH_APP, type BenchDatabase } from './databases.js';

export interface RawCommits {
  /** commits `n` rows, one transaction each; returns commits per second */
  measure(n: number): Promise<number>;
  close(): Promise<void>;
}

/** A small JSON value, the same shape the benchmark's steps return. */
export const smallValue = (i: number) => ({ i, ok: true });

/**
 * The floor under the engine's figures: the engine's own hot statements (lib/storage/hot-sql.ts, with
 * their parameter lists), prepared on this direct connection and run one after the other with no
 * JavaScript of ours in between: what the rows themselves cost (their keys, the indexes of
 * workflow_status, the fence lookup), next to the raw row. The engine cannot beat it without
 * changing its tables or writing less.
 */
export interface SqlFloor {
  /** a workflow's start row, `n - 1` fenced step outcomes, its end row with the last one (promise 15): steps per second */
  steps(n: number): Promise<number>;
  /** `n` one-step workflows one after the other, two commits each (start; the step with the end): workflows per second */
  oneStepWorkflows(n: number): Promise<number>;
}

export interface DirectConnection extends RawCommits {
  sqlFloor: SqlFloor;
}

export async function openRawCommits(target: BenchDatabase): Promise<DirectConnection> {
  if (target.choice.kind === 'sqlite') return rawSqlite(target.choice.file);
  if (target.choice.kind === 'postgres') return rawPostgres(target.choice.url, target.appSchema);
  throw new Error('the benchmark opens its own database: no embedded-postgres choice here');
}

// The floor's rows, shaped as the engine's for the benchmark's workflows (bench/workloads.ts),
// random UUIDs for ids included, as the engine makes them: they land all over the primary key's
// b-tree, where sequential ids would always append to its last page.
const FLOOR_FENCE = { executorID: 'bench-sql-floor', attempt: 1 };
const floorStart = (name: string, input: number): NewWorkflow => ({
  workflowID: randomUUID(), name, inputs: serialize([input], 'the floor inputs'), executorID: FLOOR_FENCE.executorID,
  applicationID: BENCH_APP, applicationVersion: '1', parentWorkflowID: null, now: Date.now(),
});
const floorStep = (workflowID: string, functionID: number, value: number): OperationRow => {
  const now = Date.now();
  return { workflowID, functionID, functionName: 'benchStep', output: serialize(smallValue(value), 'the floor step'), error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: now, completedAtEpochMs: now };
};
/** The end with the last step's outcome in the same commit (lib/storage/hot-sql.ts finishWithStep): the status update's 5 parameters, the step's, the output. */
const floorEnd = (workflowID: string, output: string | null, last: OperationRow) => hotParams.finishWithStep(workflowID, 'SUCCESS', output, null, FLOOR_FENCE, Date.now(), last);
const mustChange = (changed: number, what: string) => {
  if (changed !== 1) throw new Error(`the SQL floor's ${what} changed ${changed} rows, not 1`);
};

/** Rate of `n` things done since `t0` (performance.now()), per second. */
export const perSecond = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);

type FloorWrite = 'start' | 'step' | 'end';
/** Something for each of the floor's three writes, made from the hot statement it runs. */
const floorStatements = <T>(make: (hot: 'insertWorkflow' | 'recordOperation' | 'finishWithStep') => T): Record<FloorWrite, T> =>
  ({ start: make('insertWorkflow'), step: make('recordOperation'), end: make('finishWithStep') });

/**
 * The floor's loops, once for both databases: `run` runs one of the three statements with its
 * parameters and returns the rows it changed (synchronously on SQLite: awaiting that costs nothing
 * measurable next to a commit). The rows' values are made inside the timed loop: an engine has to
 * make them too.
 */
function sqlFloorOf(run: (which: FloorWrite, params: unknown[]) => number | Promise<number>): SqlFloor {
  const write = async (which: FloorWrite, params: unknown[]) => mustChange(await run(which, params), which);
  return {
    async steps(n) {
      const w = floorStart('benchSteps', n);
      const t0 = performance.now();
      await write('start', hotParams.insertWorkflow(w));
      for (let i = 0; i < n - 1; i++) await write('step', hotParams.recordOperation(floorStep(w.workflowID, i, i), FLOOR_FENCE));
      await write('end', floorEnd(w.workflowID, String(n), floorStep(w.workflowID, n - 1, n - 1)));
      return perSecond(n, t0);
    },
    async oneStepWorkflows(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const w = floorStart('benchOneStep', i);
        await write('start', hotParams.insertWorkflow(w));
        const op = floorStep(w.workflowID, 0, i);
        await write('end', floorEnd(w.workflowID, op.output, op));
      }
      return perSecond(n, t0);
    },
  };
}

function rawSqlite(file: string): DirectConnection {
  const db = new Database(file);
  configureSqlite(db);
  const q = hotStatements('', false);
  const [start, inputs, step, status, output] = [q.insertWorkflow, q.insertInputs, q.recordOperation, q.finishWorkflow, q.finishOutput].map((sql) => db.prepare(sql));
  // SQLite's start is two statements (the row and its inputs), its end three (the last step's
  // outcome, the status, its output), each committed together as the engine's group commit does.
  // Each returns the first statement's changed rows (the fenced one).
  const together = db.transaction((...writes: (() => number)[]) => writes.map((w) => w())[0]);
  const sqlFloor = sqlFloorOf((which, params) => {
    if (which === 'start') return together(() => start.run(...hotParams.statusOnly(params)).changes, () => inputs.run(params[0], params.at(-1)).changes);
    if (which === 'step') return step.run(...params).changes;
    // hotParams.finishWithStep: [status, now, id, executor, attempt, the step's 10 values, output, error];
    // the step's row takes them as recordOperation does: [id, the step's 10 values, id, executor, attempt].
    const [st, , id, executor, attempt] = params as [string, number, string, string, number];
    return together(() => step.run(id, ...params.slice(5, 15), id, executor, attempt).changes,
      () => status.run(...params.slice(0, 5)).changes,
      () => output.run(id, params[15], params[16], id, st, executor, attempt).changes);
  });
  db.exec('CREATE TABLE IF NOT EXISTS bench_raw_commits (id INTEGER PRIMARY KEY, value TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO bench_raw_commits (value) VALUES (?)');
  let i = 0;
  return {
    async measure(n) {
      const t0 = performance.now();
      // Autocommit: each run() is its own transaction, committed before it returns.
      for (let k = 0; k < n; k++) insert.run(JSON.stringify(smallValue(i++)));
      return perSecond(n, t0);
    },
    sqlFloor,
    async close() {
      db.close();
    },
  };
}

async function rawPostgres(url: string, schema: string): Promise<DirectConnection> {
  const client = new pg.Client({ connectionString: url, application_name: 'workbook-bench-raw' });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.bench_raw_commits (id BIGSERIAL PRIMARY KEY, value TEXT NOT NULL)`);
  const insert = { name: 'bench_raw_insert', text: `INSERT INTO ${schema}.bench_raw_commits (value) VALUES ($1)` };
  const q = hotStatements('dbos.', true);
  const prepared = floorStatements((hot) => ({ name: `bench_floor_${hot}`, text: numberedPlaceholders(q[hot]) }));
  const sqlFloor = sqlFloorOf(async (which, values) => (await client.query({ ...prepared[which], values })).rowCount ?? 0);
  let i = 0;
  return {
    sqlFloor,
    async measure(n) {
      const t0 = performance.now();
      // Autocommit: each statement is its own transaction; the server answers after its WAL flush.
      for (let k = 0; k < n; k++) await client.query({ ...insert, values: [JSON.stringify(smallValue(i++))] });
      return perSecond(n, t0);
    },
    async close() {
      await client.end();
    },
  };
}
