// The engine's side of the benchmark: the workflows it times, run through the public API exactly
// as a lesson would. Each function returns a rate or a time; the caller interleaves them with the
// raw commits (bench/raw.ts) so that both see the same machine load.
import { performance } from 'node:perf_hooks';
import { DBOS } from '../lib/index.js';
import { serialize } from '../lib/serialize.js';
import { queryStats } from '../lib/storage/driver.js';
import { hotParams, hotStatements } from '../lib/storage/hot-sql.js';
import { BENCH_APP } from './databases.js';
import { perSecond, smallValue } from './raw.js';

// Step 1: a step that returns a small JSON value, the unit of every figure.
const benchStep = DBOS.registerStep(async function benchStep(i: number) {
  return smallValue(i);
});

// Step 2: one workflow of n steps (steps/s), and a workflow of one step (workflows/s).
const benchSteps = DBOS.registerWorkflow(async function benchSteps(n: number) {
  for (let i = 0; i < n; i++) await benchStep(i);
  return n;
});

const benchOneStep = DBOS.registerWorkflow(async function benchOneStep(i: number) {
  return benchStep(i);
});

/** Steps per second in one workflow of `n` steps (its start and end rows included). */
export async function stepsPerSecond(n: number): Promise<number> {
  const t0 = performance.now();
  const done = await benchSteps(n);
  if (done !== n) throw new Error(`benchSteps returned ${done}, not ${n}`);
  return perSecond(n, t0);
}

/** One-step workflows per second, each awaited before the next starts. */
export async function sequentialWorkflowsPerSecond(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await benchOneStep(i);
  return perSecond(n, t0);
}

/** One-step workflows per second, started `concurrency` at a time (each wave awaited as a whole). */
export async function concurrentWorkflowsPerSecond(n: number, concurrency: number): Promise<number> {
  const t0 = performance.now();
  for (let done = 0; done < n; done += concurrency) {
    const wave = Math.min(concurrency, n - done);
    await Promise.all(Array.from({ length: wave }, (_, k) => benchOneStep(done + k)));
  }
  return perSecond(n, t0);
}

// Step 3: recovery. A workflow whose process died after recording n steps, written straight
// into the tables in the engine's own row format (writing them through the engine would time the
// recording, not the recovery). Its executor has no heartbeat row, so it counts as dead.
let replayStepRuns = 0;
const replayStep = DBOS.registerStep(async function replayStep(i: number) {
  replayStepRuns++; // must stay 0: every step is recorded, so recovery replays them all
  return smallValue(i);
});

// Registered at load; recovery finds it by its name, from the seeded row.
DBOS.registerWorkflow(async function benchReplay(n: number) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (await replayStep(i)).i;
  return sum;
});

async function seedCrashedWorkflow(n: number): Promise<string> {
  const app = DBOS.appDatabase;
  const S = app.schemaPrefix;
  const id = `bench-replay-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
  const now = Date.now();
  // The engine's own start row: PENDING, at recovery attempt 1, owned by an executor that is gone.
  const q = hotStatements(S, false);
  const start = hotParams.insertWorkflow({
    workflowID: id, name: 'benchReplay', inputs: serialize([n], 'the replay inputs'), executorID: 'bench-crashed-executor',
    applicationID: BENCH_APP, applicationVersion: DBOS.applicationVersion, parentWorkflowID: null, now,
  });
  const statements = [
    { sql: q.insertWorkflow, params: hotParams.statusOnly(start) },
    { sql: q.insertInputs, params: [id, start.at(-1)] },
  ];
  for (let from = 0; from < n; from += 500) {
    const rows = Array.from({ length: Math.min(500, n - from) }, (_, k) => from + k);
    statements.push({
      sql: `INSERT INTO ${S}operation_outputs (workflow_uuid, function_id, function_name, output, error, child_workflow_id, attempts,
              started_at_epoch_ms, completed_at_epoch_ms) VALUES ${rows.map(() => '(?, ?, ?, ?, NULL, NULL, 1, ?, ?)').join(', ')}`,
      params: rows.flatMap((i) => [id, i, 'replayStep', serialize(smallValue(i), 'a replay step'), now, now]),
    });
  }
  await app.batch(statements);
  return id;
}

export interface RecoveryFigure {
  steps: number;
  ms: number;
  /** statements this process sent to the database from the recovery's start to the workflow's end */
  queries: number;
}

/** Time and queries to recover (replay) a workflow with `n` recorded steps, from the recovery scan to its result. */
export async function recoveryOf(n: number): Promise<RecoveryFigure> {
  const id = await seedCrashedWorkflow(n);
  replayStepRuns = 0;
  const q0 = queryStats.statements;
  const t0 = performance.now();
  const report = await DBOS.recoverPendingWorkflows();
  const handle = report.recovered.find((h) => h.workflowID === id);
  if (!handle) throw new Error(`recovery did not pick up the seeded workflow ${id}`);
  const sum = await handle.getResult();
  const ms = performance.now() - t0;
  const queries = queryStats.statements - q0;
  if (replayStepRuns !== 0) throw new Error(`recovery ran ${replayStepRuns} recorded steps again instead of replaying them`);
  if (sum !== (n * (n - 1)) / 2) throw new Error(`the replayed workflow returned ${sum}, not ${(n * (n - 1)) / 2}`);
  return { steps: n, ms, queries };
}
