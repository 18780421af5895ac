// One worker process of the chaos torture (lib/torture/chaos.ts): it starts its share of the
// workflows, spread over a few seconds, while the torture restarts the database, kills its
// connections, holds SQLite's write lock or fills the disk under it. Then it waits for every
// outcome and reports what it saw. It never gives up on a workflow because of a database error:
// a caller that meets one tries again (the start is idempotent by id, promise 1), as an
// application would. Whether the workflows still end SUCCESS is the engine's business, checked
// afterwards in the database.
//
//   env: the database (lib/config.ts), CHAOS_IDS (first:count), CHAOS_STEPS, CHAOS_STEP_MS,
//        CHAOS_SPREAD_MS (the starts are spread over this), CHAOS_DEADLINE_MS (from READY: after
//        it, the worker stops waiting and reports what is still unfinished)
//   stdout: READY, STARTS DONE, RESULT: <json>
import { setTimeout as sleep } from 'node:timers/promises';
import { DBOS } from '../dbos.js';
import type { WorkflowHandle } from '../handle.js';
import { isUnfinished } from '../storage/types.js';

const num = (name: string) => Number(process.env[name]);
const [first, count] = (process.env.CHAOS_IDS ?? '0:0').split(':').map(Number);
const STEPS = num('CHAOS_STEPS');
const STEP_MS = num('CHAOS_STEP_MS');
const SPREAD_MS = num('CHAOS_SPREAD_MS');
const DEADLINE_MS = num('CHAOS_DEADLINE_MS');

// Each step writes one row of the application's own in a transaction (chaos_effects, made by the
// torture before the workers start): so a connection killed under the application is tried too.
// Its errors are the step's own and the step retries them (about 30 s in all), as a step that
// talks to a database should.
export const chaosStep = DBOS.registerStep(
  async function chaosStep(i: number, s: number, ms: number) {
    await sleep(ms);
    await DBOS.appDatabase.batch([{ sql: 'INSERT INTO chaos_effects (workflow_id, step_id, pid) VALUES (?, ?, ?)', params: [DBOS.workflowID, s, process.pid] }]);
    return i * 1000 + s;
  },
  { retriesAllowed: true, maxAttempts: 12, intervalSeconds: 0.2, backoffRate: 1.5 },
);

export const chaosWorkflow = DBOS.registerWorkflow(async function chaosWorkflow(i: number, steps: number, ms: number) {
  let sum = 0;
  for (let s = 0; s < steps; s++) sum += await chaosStep(i, s, ms);
  return sum;
});

/** What the callers met: database errors by their first words (the engine's business to hide them). */
const callerErrors = new Map<string, number>();
function met(err: unknown): void {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const key = text.replace(/\d+/g, 'N').slice(0, 90);
  callerErrors.set(key, (callerErrors.get(key) ?? 0) + 1);
}

const started = Date.now();
const deadline = () => Date.now() - started > DEADLINE_MS;

/** Starts workflow i, again and again while the database refuses, until the deadline. */
async function start(i: number): Promise<WorkflowHandle<number> | undefined> {
  while (!deadline()) {
    try {
      return await DBOS.startWorkflow(chaosWorkflow, { workflowID: `chaos-${i}` })(i, STEPS, STEP_MS);
    } catch (err) {
      met(err);
      await sleep(200);
    }
  }
  return undefined;
}

/** Waits for workflow i's outcome: 'SUCCESS', another final status, or 'unfinished' at the deadline. */
async function outcome(h: WorkflowHandle<number>): Promise<{ status: string; error?: string }> {
  while (!deadline()) {
    try {
      await h.getResult();
      return { status: 'SUCCESS' };
    } catch (err) {
      // The workflow's own error, or the database's? Only the stored status can tell.
      const row = await h.getStatus().catch((e) => void met(e));
      if (row && !isUnfinished(row.status)) return { status: row.status, error: row.error ? String((row.error as Error).message ?? row.error) : (err as Error).message };
      met(err);
      await sleep(200);
    }
  }
  return { status: 'unfinished' };
}

process.stdout.write('STARTED\n');
DBOS.setConfig({ name: 'chaos', executorLeaseMs: num('CHAOS_LEASE_MS') || undefined });
await DBOS.launch();
console.log('READY');
const waits: Promise<{ id: string; status: string; error?: string }>[] = [];
for (let k = 0; k < count; k++) {
  const i = first + k;
  await sleep(SPREAD_MS / Math.max(1, count));
  waits.push(start(i).then(async (h) => ({ id: `chaos-${i}`, ...(h ? await outcome(h) : { status: 'never started' }) })));
}
console.log('STARTS DONE');
const ends = await Promise.all(waits);
const notOk = ends.filter((e) => e.status !== 'SUCCESS');
console.log(`RESULT: ${JSON.stringify({ workflows: ends.length, succeeded: ends.length - notOk.length, notOk, callerErrors: Object.fromEntries(callerErrors) })}`);
await DBOS.shutdown().catch((e) => console.error(`shutdown: ${(e as Error).message}`));
