// docs/DESIGN.md promises 1 to 6 and 8, on both databases, in one process. A "crash" here is made the
// way a dead process leaves things: the workflow row back to PENDING, owned by an executor that no
// longer exists, and (for promise 3) the last outcome never recorded. The real crashes, with real
// processes, are in 40-crash-recovery.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DBOS,
  MaxStepRetriesError,
  backoffSeconds,
  STEP_DEFAULTS,
  type AppDatabase,
} from '../lib/index.js';
import { DATABASES, freshDatabase, type DbKind } from './helpers.js';

const runs: Record<string, number> = {};
const bump = (k: string) => (runs[k] = (runs[k] ?? 0) + 1);

const addOne = DBOS.registerStep(async function addOne(x: number) {
  bump(`addOne:${x}`);
  return x + 1;
});
const boom = DBOS.registerStep(async function boom() {
  bump('boom');
  throw new Error('boom went the step');
});
const chain = DBOS.registerWorkflow(async function chain(start: number) {
  let x = start;
  for (let i = 0; i < 3; i++) x = await addOne(x);
  let caught = '';
  try {
    await boom();
  } catch (e) {
    caught = (e as Error).message;
  }
  return { x, caught };
});

let flaky = { failures: 2 };
const seen: { attempt: number; max: number }[] = [];
const flakyStep = DBOS.registerStep(
  async function flakyStep() {
    const s = DBOS.stepStatus!;
    seen.push({ attempt: s.currentAttempt!, max: s.maxAttempts! });
    if (flaky.failures-- > 0) throw new Error(`flaky failure on attempt ${s.currentAttempt}`);
    return 'ok';
  },
  { retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0.01, backoffRate: 2 },
);
const retrying = DBOS.registerWorkflow(async function retrying() {
  return flakyStep();
});

let useRenamed = false;
const stepA = DBOS.registerStep(async function stepA() {
  return 'a';
});
const stepB = DBOS.registerStep(async function stepB() {
  return 'b';
});
const shifty = DBOS.registerWorkflow(async function shifty() {
  return useRenamed ? stepB() : stepA();
});

const parkable = DBOS.registerWorkflow(
  async function parkable() {
    return addOne(100);
  },
  { maxRecoveryAttempts: 2 },
);

const child = DBOS.registerWorkflow(async function child(n: number) {
  return addOne(n * 10);
});
const parent = DBOS.registerWorkflow(async function parent() {
  const h1 = await DBOS.startWorkflow(child)(1);
  const h2 = await DBOS.startWorkflow(child)(2);
  return [h1.workflowID, h2.workflowID, await h1.getResult(), await h2.getResult()];
});

// A child that waits in its first step until released, and a parent that awaits it.
let releaseGate: () => void = () => {};
const gated = DBOS.registerStep(async function gated() {
  await new Promise<void>((r) => (releaseGate = r));
  return 'released';
});
const gatedChild = DBOS.registerWorkflow(async function gatedChild() {
  return gated();
});
const awaitsChild = DBOS.registerWorkflow(
  async function awaitsChild() {
    return (await DBOS.startWorkflow(gatedChild)()).getResult();
  },
  { maxRecoveryAttempts: 2 },
);

function table(kind: DbKind, name: string) {
  return kind === 'postgres' ? `dbos.${name}` : name;
}

/** Leaves `id` as a crashed process would: PENDING, owned by a dead executor, outcomes from `lostFrom` on unrecorded. */
async function simulateCrash(kind: DbKind, app: AppDatabase, id: string, lostFrom = Infinity): Promise<void> {
  await app.query(`UPDATE ${table(kind, 'workflow_status')} SET status = 'PENDING', output = NULL, executor_id = 'dead-executor' WHERE workflow_uuid = ?`, [id]);
  await app.query(`DELETE FROM ${table(kind, 'workflow_output')} WHERE workflow_uuid = ?`, [id]);
  if (Number.isFinite(lostFrom)) {
    await app.query(`DELETE FROM ${table(kind, 'operation_outputs')} WHERE workflow_uuid = ? AND function_id >= ?`, [id, lostFrom]);
  }
}

for (const kind of DATABASES) {
  describe(`${kind}: the durability contract`, () => {
    beforeEach(async () => {
      for (const k of Object.keys(runs)) delete runs[k];
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'promises', database: choice });
      await DBOS.launch();
    });
    afterEach(() => DBOS.shutdown());

    it('promise 1: starting an existing id runs nothing again and returns the recorded result', async () => {
      const h1 = await DBOS.startWorkflow(chain, { workflowID: 'same' })(1);
      const h2 = await DBOS.startWorkflow(chain, { workflowID: 'same' })(1);
      expect(await h2.getResult()).toEqual({ x: 4, caught: 'boom went the step' });
      expect(await h1.getResult()).toEqual(await h2.getResult());
      const h3 = await DBOS.startWorkflow(chain, { workflowID: 'same' })(1);
      expect(await h3.getResult()).toEqual({ x: 4, caught: 'boom went the step' });
      expect(runs).toEqual({ 'addOne:1': 1, 'addOne:2': 1, 'addOne:3': 1, boom: 1 });
      expect(await DBOS.listWorkflows({ workflowIDs: ['same'] })).toHaveLength(1);
    });

    it('promise 2: a replay returns recorded results and rethrows recorded errors without running steps', async () => {
      expect(await chain(1)).toEqual({ x: 4, caught: 'boom went the step' });
      const [row] = await DBOS.listWorkflows({ workflowName: 'chain' });
      await simulateCrash(kind, DBOS.appDatabase, row.workflowID);
      const report = await DBOS.recoverPendingWorkflows();
      expect(report.recovered.map((h) => h.workflowID)).toEqual([row.workflowID]);
      expect(await report.recovered[0].getResult()).toEqual({ x: 4, caught: 'boom went the step' });
      expect(runs).toEqual({ 'addOne:1': 1, 'addOne:2': 1, 'addOne:3': 1, boom: 1 });
      const steps = await DBOS.listWorkflowSteps(row.workflowID);
      expect(steps.map((s) => s.functionID)).toEqual([0, 1, 2, 3]);
      expect(steps[3].error?.message).toBe('boom went the step');
      expect((await DBOS.getWorkflowStatus(row.workflowID))?.recoveryAttempts).toBe(2);
    });

    it('promise 3: a step whose outcome was not recorded runs again on recovery', async () => {
      await DBOS.startWorkflow(chain, { workflowID: 'lost' })(1).then((h) => h.getResult());
      await simulateCrash(kind, DBOS.appDatabase, 'lost', 2); // died after step 2 ran, before it was recorded
      const report = await DBOS.recoverPendingWorkflows();
      expect(await report.recovered[0].getResult()).toEqual({ x: 4, caught: 'boom went the step' });
      expect(runs).toEqual({ 'addOne:1': 1, 'addOne:2': 1, 'addOne:3': 2, boom: 2 });
    });

    it('promise 4: a different step at a recorded function id fails the workflow with a clear error', async () => {
      useRenamed = false;
      await DBOS.startWorkflow(shifty, { workflowID: 'det' })().then((h) => h.getResult());
      await simulateCrash(kind, DBOS.appDatabase, 'det');
      useRenamed = true;
      const report = await DBOS.recoverPendingWorkflows();
      const err = await report.recovered[0].getResult().catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/During execution of workflow det step 0, function stepA was recorded when stepB was expected\. Check that your workflow is deterministic/);
      expect((err as Error).message).toMatch(/a renamed step counts as another step/);
      expect(err).toMatchObject({ name: 'DBOSUnexpectedStepError', dbosErrorCode: 26 });
      expect((await DBOS.getWorkflowStatus('det'))?.status).toBe('ERROR');
      useRenamed = false;
    });

    it('promise 5: retries with backoff, the step status inside, and every attempt kept when they run out', async () => {
      flaky = { failures: 2 };
      seen.length = 0;
      expect(await retrying()).toBe('ok');
      expect(seen).toEqual([{ attempt: 1, max: 3 }, { attempt: 2, max: 3 }, { attempt: 3, max: 3 }]);
      const [row] = await DBOS.listWorkflows({ workflowName: 'retrying' });
      expect((await DBOS.listWorkflowSteps(row.workflowID))[0].attempts).toBe(3);

      flaky = { failures: 5 };
      const h = await DBOS.startWorkflow(retrying, { workflowID: 'exhausted' })();
      const err = await h.getResult().catch((e) => e);
      expect(err).toBeInstanceOf(MaxStepRetriesError);
      expect(err).toMatchObject({ name: 'DBOSMaxStepRetriesError', dbosErrorCode: 23 });
      expect(err.message).toMatch(/Step flakyStep has exceeded its maximum of 3 retries/);
      expect(err.message).toMatch(/Previous errors: Error 1: flaky failure on attempt 1\. Error 2: flaky failure on attempt 2\. Error 3: flaky failure on attempt 3$/);
      const recorded = (await DBOS.getWorkflowStatus('exhausted'))!;
      expect(recorded.status).toBe('ERROR');
      expect((recorded.error as { errors: unknown[] }).errors).toHaveLength(3);
    });

    it('promise 6: recovery counts attempts, parks past the maximum, and resume runs it again', async () => {
      await DBOS.startWorkflow(parkable, { workflowID: 'park' })().then((h) => h.getResult());
      // maxRecoveryAttempts 2: the first run and two recoveries may run; the next start parks it.
      for (const expected of [2, 3]) {
        await simulateCrash(kind, DBOS.appDatabase, 'park');
        const r = await DBOS.recoverPendingWorkflows();
        await r.recovered[0].getResult();
        expect((await DBOS.getWorkflowStatus('park'))?.recoveryAttempts).toBe(expected);
      }
      await simulateCrash(kind, DBOS.appDatabase, 'park');
      const r = await DBOS.recoverPendingWorkflows();
      expect(r.parked).toEqual(['park']);
      expect((await DBOS.getWorkflowStatus('park'))?.status).toBe('MAX_RECOVERY_ATTEMPTS_EXCEEDED');
      // Whoever awaits a parked workflow gets DBOS's error for it (code 30); the log said the full story at parking.
      await expect(DBOS.retrieveWorkflow('park').getResult()).rejects.toMatchObject({
        name: 'DBOSAwaitedWorkflowExceededMaxRecoveryAttempts', dbosErrorCode: 30, message: expect.stringMatching(/^Awaited park exceeded its maximum recovery attempts\. .*resumeWorkflow/),
      });
      const resumed = await DBOS.resumeWorkflow('park');
      expect(await resumed.getResult()).toBe(101);
      expect((await DBOS.getWorkflowStatus('park'))).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    });

    it('child workflows get ids from the parent id and function id, and a replay finds the same children', async () => {
      const h = await DBOS.startWorkflow(parent, { workflowID: 'p' })();
      expect(await h.getResult()).toEqual(['p-0', 'p-1', 11, 21]);
      await simulateCrash(kind, DBOS.appDatabase, 'p');
      const r = await DBOS.recoverPendingWorkflows();
      expect(await r.recovered[0].getResult()).toEqual(['p-0', 'p-1', 11, 21]);
      expect(runs).toEqual({ 'addOne:10': 1, 'addOne:20': 1 });
      expect((await DBOS.getWorkflowStatus('p-1'))?.parentWorkflowID).toBe('p');
      // As DBOS: each awaited result is an operation of its own (DBOS.getResult), with the child's output.
      expect((await DBOS.listWorkflowSteps('p')).map((s) => [s.name, s.childWorkflowID, s.output])).toEqual(
        [['child', 'p-0', undefined], ['child', 'p-1', undefined], ['DBOS.getResult', 'p-0', 11], ['DBOS.getResult', 'p-1', 21]]);
    });

    it('a parent that awaits a cancelled child ends in ERROR with the cancellation, it is not re-run until parked', async () => {
      const h = await DBOS.startWorkflow(awaitsChild, { workflowID: 'ac' })();
      while ((await DBOS.getWorkflowStatus('ac-0'))?.status !== 'PENDING') await new Promise((r) => setTimeout(r, 5));
      expect(await DBOS.cancelWorkflow('ac-0')).toBe(true);
      releaseGate();
      await expect(h.getResult()).rejects.toThrow('Awaited ac-0 was cancelled');
      const row = await DBOS.getWorkflowStatus('ac');
      expect([row?.status, row?.recoveryAttempts]).toEqual(['ERROR', 1]);
      expect((await DBOS.getWorkflowStatus('ac-0'))?.status).toBe('CANCELLED');
    });

    it('concurrent workflows in one process each see their own context', async () => {
      const handles = await Promise.all([1, 2, 3, 4, 5].map((n) => DBOS.startWorkflow(chain, { workflowID: `c${n}` })(n * 100)));
      const results = await Promise.all(handles.map((h) => h.getResult()));
      expect(results.map((r) => r.x)).toEqual([103, 203, 303, 403, 503]);
      for (const n of [1, 2, 3, 4, 5]) expect((await DBOS.listWorkflowSteps(`c${n}`)).map((s) => s.output)).toEqual([n * 100 + 1, n * 100 + 2, n * 100 + 3, undefined]);
    });

    it('listWorkflows filters by status list, name, time range, and sorts newest first', async () => {
      const t0 = Date.now();
      await DBOS.startWorkflow(chain, { workflowID: 'l1' })(1).then((h) => h.getResult());
      await new Promise((r) => setTimeout(r, 5));
      const t1 = Date.now();
      await DBOS.startWorkflow(parkable, { workflowID: 'l2' })().then((h) => h.getResult());
      await new Promise((r) => setTimeout(r, 5)); // distinct created_at, so newest-first has one answer
      flaky = { failures: 9 };
      await DBOS.startWorkflow(retrying, { workflowID: 'l3' })().then((h) => h.getResult()).catch(() => undefined);
      const ids = (rows: { workflowID: string }[]) => rows.map((r) => r.workflowID);
      expect(ids(await DBOS.listWorkflows({ status: ['SUCCESS'] }))).toEqual(['l1', 'l2']);
      expect(ids(await DBOS.listWorkflows({ status: ['ERROR', 'PENDING'] }))).toEqual(['l3']);
      expect(ids(await DBOS.listWorkflows({ workflowName: 'parkable' }))).toEqual(['l2']);
      expect(ids(await DBOS.listWorkflows({ startTime: t1 }))).toEqual(['l2', 'l3']);
      expect(ids(await DBOS.listWorkflows({ startTime: t0, endTime: t1 - 1 }))).toEqual(['l1']);
      expect(ids(await DBOS.listWorkflows({ sortDesc: true, limit: 2 }))).toEqual(['l3', 'l2']);
      expect(ids(await DBOS.listWorkflows({ offset: 1 }))).toEqual(['l2', 'l3']);
    });

    it('promise 8: the tables are plain, named as DBOS 5.x names them, with SuperJSON text inside', async () => {
      await DBOS.startWorkflow(chain, { workflowID: 'inspect' })(7).then((h) => h.getResult());
      const app = DBOS.appDatabase;
      const counts = await app.query<{ status: string; n: unknown }>(`SELECT status, COUNT(*) AS n FROM ${table(kind, 'workflow_status')} GROUP BY status`);
      expect(counts.map((c) => [c.status, Number(c.n)])).toEqual([['SUCCESS', 1]]);
      const [w] = await app.query<{ inputs: string; output: string; serialization: string }>(
        `SELECT i.inputs, o.output, w.serialization FROM ${table(kind, 'workflow_status')} w JOIN ${table(kind, 'workflow_input')} i ON i.workflow_uuid = w.workflow_uuid
         JOIN ${table(kind, 'workflow_output')} o ON o.workflow_uuid = w.workflow_uuid WHERE w.workflow_uuid = ?`, ['inspect']);
      expect(JSON.parse(w.inputs)).toEqual({ json: [7], __dbos_serializer: 'superjson' });
      expect(JSON.parse(w.output)).toEqual({ json: { x: 10, caught: 'boom went the step' }, __dbos_serializer: 'superjson' });
      expect(w.serialization).toBe('js_superjson');
      const [old] = await app.query<Record<string, unknown>>(`SELECT inputs, output, error FROM ${table(kind, 'workflow_status')} WHERE workflow_uuid = ?`, ['inspect']);
      expect(old).toEqual({ inputs: null, output: null, error: null }); // as DBOS 5.x: its own tables hold them
      const ops = await app.query<{ function_name: string; output: string | null; error: string | null }>(
        `SELECT function_name, output, error FROM ${table(kind, 'operation_outputs')} WHERE workflow_uuid = ? ORDER BY function_id`, ['inspect']);
      expect(ops.map((o) => o.function_name)).toEqual(['addOne', 'addOne', 'addOne', 'boom']);
      expect(JSON.parse(ops[3].error!).json.message).toBe('boom went the step');
    });
  });
}

describe('backoff (pure)', () => {
  it('follows DBOS defaults and caps the interval', () => {
    expect(STEP_DEFAULTS).toMatchObject({ retriesAllowed: false, maxAttempts: 3, intervalSeconds: 1, backoffRate: 2 });
    const cfg = { intervalSeconds: 1, backoffRate: 2, maxIntervalSeconds: 5 };
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, cfg))).toEqual([1, 2, 4, 5, 5]);
  });
});
