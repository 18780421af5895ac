// Promise 13: transaction steps (lib/transactions/), on both databases, in one process. The app's
// writes and the step's recorded outcome commit together or not at all; a replay does not run the
// function; an error rolls back and is recorded; conflicts are retried; the fence refuses a
// taken-over execution inside the transaction; SQLite's group commit never lands in a transaction.
// The real crashes, in real processes, are in 58b-ex11.test.ts and 80-harness.test.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DBOS, MAX_TRANSACTION_ATTEMPTS, UnexpectedStepError, type AppDatabase } from '../lib/index.js';
import { state } from '../lib/state.js';
import { DATABASES, freshDatabase, type DbKind } from './helpers.js';

let runs = 0;
let failNext: Error | undefined;
const insertItems = DBOS.registerTransaction(async function insertItems(tag: string, n: number) {
  runs++;
  const tx = DBOS.appDatabase;
  for (let i = 0; i < n; i++) await tx.query('INSERT INTO items (tag, i) VALUES (?, ?)', [tag, i]);
  if (failNext) {
    const e = failNext;
    failNext = undefined;
    throw e;
  }
  return n;
});

const plainStep = DBOS.registerStep(async function plainStep(x: number) {
  return x * 2;
});

const orders = DBOS.registerWorkflow(async function orders(tag: string) {
  const a = await insertItems(tag, 3);
  let caught = '';
  try {
    await DBOS.runTransaction(async (tx) => {
      await tx.query('INSERT INTO items (tag, i) VALUES (?, ?)', [tag, 99]);
      throw new Error('refused after the insert');
    }, { name: 'failing' });
  } catch (e) {
    caught = (e as Error).message;
  }
  return { a, caught, b: await plainStep(a) };
});

let takeover: 'between' | 'inside' = 'between';
const takenOver = DBOS.registerWorkflow(async function takenOver() {
  const id = DBOS.workflowID!;
  const claim = () => state.db!.claimWorkflow(id, 1, 'another-executor', Date.now());
  if (takeover === 'between') expect(await claim()).toBe(2); // another process took it between two steps
  return DBOS.runTransaction(async (tx) => {
    await tx.query('INSERT INTO items (tag, i) VALUES (?, ?)', ['fenced', 1]);
    if (takeover === 'inside') expect(await claim()).toBe(2); // ... or while this transaction ran (PostgreSQL)
    return 'committed';
  }, { name: 'fencedInsert' });
});

let useOtherName = false;
const renamed = DBOS.registerWorkflow(async function renamed() {
  const fn = async (tx: AppDatabase) => (await tx.query('INSERT INTO items (tag, i) VALUES (?, ?)', ['renamed', 1]), 'x');
  return DBOS.runTransaction(fn, { name: useOtherName ? 'otherName' : 'firstName' });
});

const slowThenFail = DBOS.registerWorkflow(async function slowThenFail() {
  return DBOS.runTransaction(async (tx) => {
    await tx.query('INSERT INTO items (tag, i) VALUES (?, ?)', ['slow', 1]);
    await sleep(100); // other workflows write meanwhile: none of it may land in this transaction
    throw new Error('rolled back on purpose');
  }, { name: 'slow' }).catch((e: Error) => e.message);
});
const busy = DBOS.registerWorkflow(async function busy(k: number) {
  let x = k;
  for (let i = 0; i < 10; i++) x = await plainStep(x % 1000);
  return x;
});

const count = async (tag: string) =>
  Number((await DBOS.appDatabase.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM items WHERE tag = ?', [tag]))[0].n);

function table(kind: DbKind, name: string) {
  return kind === 'postgres' ? `dbos.${name}` : name;
}

for (const kind of DATABASES) {
  describe(`${kind}: transaction steps`, () => {
    beforeEach(async () => {
      runs = 0;
      failNext = undefined;
      takeover = 'between';
      useOtherName = false;
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'txsteps', database: choice });
      await DBOS.launch();
      await DBOS.appDatabase.exec('CREATE TABLE IF NOT EXISTS items (tag TEXT NOT NULL, i INTEGER NOT NULL)');
    });
    afterEach(() => DBOS.shutdown());

    it('commits the writes with the outcome; an error rolls back and is recorded; a replay runs nothing again', async () => {
      const h = await DBOS.startWorkflow(orders, { workflowID: 'o1' })('o1');
      expect(await h.getResult()).toEqual({ a: 3, caught: 'refused after the insert', b: 6 });
      expect(await count('o1')).toBe(3); // the failing transaction's row 99 was rolled back
      const steps = await DBOS.listWorkflowSteps('o1');
      expect(steps.map((s) => [s.functionID, s.name, s.output ?? null, s.error?.message ?? null])).toEqual([
        [0, 'insertItems', 3, null], [1, 'failing', null, 'refused after the insert'], [2, 'plainStep', 6, null],
      ]);
      // As a crashed process leaves it: PENDING, owner gone. The recovery replays both transactions.
      await DBOS.appDatabase.query(`UPDATE ${table(kind, 'workflow_status')} SET status = 'PENDING', executor_id = 'dead' WHERE workflow_uuid = ?`, ['o1']);
      const report = await DBOS.recoverPendingWorkflows();
      expect(await report.recovered[0].getResult()).toEqual({ a: 3, caught: 'refused after the insert', b: 6 });
      expect(runs).toBe(1);
      expect(await count('o1')).toBe(3);
    });

    it(`retries a serialization failure or deadlock (up to ${MAX_TRANSACTION_ATTEMPTS} attempts), rolling back each`, async () => {
      failNext = Object.assign(new Error('could not serialize access'), { code: kind === 'postgres' ? '40001' : 'SQLITE_BUSY' });
      expect(await insertItems.call(null, 'r', 2)).toBe(2); // outside a workflow: a plain transaction, retried too
      expect(runs).toBe(2);
      expect(await count('r')).toBe(2);
      failNext = Object.assign(new Error('deadlock detected'), { code: kind === 'postgres' ? '40P01' : 'SQLITE_BUSY' });
      const wf = DBOS.registerWorkflow(async () => insertItems('r2', 4), { name: `retrying-${kind}` });
      expect(await wf()).toBe(4);
      expect(await count('r2')).toBe(4);
      const [row] = await DBOS.listWorkflows({ workflowName: `retrying-${kind}` });
      expect((await DBOS.listWorkflowSteps(row.workflowID))[0].attempts).toBe(2);
    });

    it('a taken-over execution does not commit: the fence is checked inside the transaction', async () => {
      await DBOS.startWorkflow(takenOver, { workflowID: 'f1' })();
      // This execution stops (its outcome is the new owner's to write); the workflow stays PENDING.
      expect(await state.running.get('f1')).toEqual({ kind: 'elsewhere' });
      expect(await count('fenced')).toBe(0);
      expect(await DBOS.listWorkflowSteps('f1')).toEqual([]);
      expect((await DBOS.getWorkflowStatus('f1'))?.status).toBe('PENDING');
    }, 30_000);

    if (kind === 'postgres') {
      it('PostgreSQL: a takeover while the transaction runs is seen by the fence before COMMIT', async () => {
        takeover = 'inside';
        await DBOS.startWorkflow(takenOver, { workflowID: 'f2' })();
        expect(await state.running.get('f2')).toEqual({ kind: 'elsewhere' });
        expect(await count('fenced')).toBe(0);
        expect(await DBOS.listWorkflowSteps('f2')).toEqual([]);
      }, 30_000);
    }

    it('determinism: another name at the same function id is caught on replay', async () => {
      await DBOS.startWorkflow(renamed, { workflowID: 'd1' })().then((h) => h.getResult());
      await DBOS.appDatabase.query(`UPDATE ${table(kind, 'workflow_status')} SET status = 'PENDING', executor_id = 'dead' WHERE workflow_uuid = ?`, ['d1']);
      useOtherName = true;
      const report = await DBOS.recoverPendingWorkflows();
      await expect(report.recovered[0].getResult()).rejects.toBeInstanceOf(UnexpectedStepError);
      expect(await count('renamed')).toBe(1);
    });

    it('other workflows writing while a transaction is open keep their checkpoints when it rolls back', async () => {
      const slow = await DBOS.startWorkflow(slowThenFail)();
      await sleep(20);
      const others = await Promise.all([1, 2, 3].map((k) => DBOS.startWorkflow(busy)(k)));
      expect(await slow.getResult()).toBe('rolled back on purpose');
      for (const o of others) await o.getResult();
      expect(await count('slow')).toBe(0);
      for (const o of others) expect(await DBOS.listWorkflowSteps(o.workflowID)).toHaveLength(10);
    });
  });
}
