// ex12, run as a user runs it: real worker processes, a real SIGSTOP past the lease, a real
// takeover by another process, a real SIGCONT. Its claims, each held against the database.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, queryDatabase, resultOf, runScript, type RunResult } from './helpers.js';

interface Part {
  order: string;
  chargeBodyRuns: number;
  chargeBodyPids: number;
  recordedCharges: number;
  recordedByAttempt: number | null;
  workflowStatus: string;
  payments: number;
  repeatsRefused: number;
  wokenFenced: boolean;
  wokenStepsAfterFence: string[];
  orderStatus: string;
}

for (const kind of DATABASES) {
  describe(`${kind}: ex12, a worker that wakes up too late`, () => {
    let run: RunResult;
    let res: { naive: Part; keyed: Part };
    let choice: DatabaseChoice;

    beforeAll(async () => {
      const fresh = await freshDatabase(kind);
      choice = fresh.choice;
      run = await runScript('experiments/ex12.ts', { ...fresh.env, EX12_LEASE_MS: '1000', EX12_SLOW_MS: '2500' }, { timeoutMs: 170_000 });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      res = resultOf(run) as typeof res;
    }, 180_000);

    const payments = (order: string) => queryDatabase(choice, 'ex12', 'SELECT COUNT(*) AS n FROM payments WHERE order_id = ?', [order]).then((r) => r[0].n);
    const recorded = (order: string) =>
      withDatabase(choice, 'ex12', 'test-57', async (db) => ({
        charges: (await db.loadOperations(order)).filter((o) => o.functionName === 'chargeCard'),
        status: (await db.getWorkflow(order))?.status,
      }));

    it("the charge step's body ran twice, in two processes, and one outcome is recorded (the fence), by the taking-over execution", async () => {
      for (const p of [res.naive, res.keyed]) {
        expect([p.chargeBodyRuns, p.chargeBodyPids], run.stdout).toEqual([2, 2]);
        const r = await recorded(p.order);
        expect(r.charges.map((o) => o.executionAttempt)).toEqual([2]);
        expect([p.recordedCharges, p.recordedByAttempt, r.status, p.workflowStatus]).toEqual([1, 2, 'SUCCESS', 'SUCCESS']);
        expect(p.wokenFenced).toBe(true); // the woken process learnt it at its checkpoint write
      }
    });

    it('without a key the receiver was charged twice; with the key (workflow id : function id) once, the repeat refused', async () => {
      expect([res.naive.payments, await payments(res.naive.order)]).toEqual([2, 2]);
      expect([res.keyed.payments, await payments(res.keyed.order), res.keyed.repeatsRefused]).toEqual([1, 1, 1]);
      const keys = await queryDatabase(choice, 'ex12', 'SELECT COUNT(*) AS n FROM payments WHERE idempotency_key = ?', [`${res.keyed.order}:0`]);
      expect(keys[0].n).toBe(1);
    });

    it('what the lesson says the woken process did next is what the database shows', async () => {
      for (const p of [res.naive, res.keyed]) {
        const [row] = await withDatabase(choice, 'ex12', 'test-57', (db) => db.app.query<{ status: string }>('SELECT status FROM orders WHERE id = ?', [p.order]));
        expect(row.status).toBe(p.orderStatus);
        if (p.wokenStepsAfterFence.length) {
          expect(p.wokenStepsAfterFence).toContain('markOrder payment-failed');
          expect(row.status).toBe('payment-failed');
          expect(run.stdout).toContain('and then went on: it ran the body of markOrder payment-failed');
        } else {
          expect(row.status).toBe('paid');
          expect(run.stdout).toContain('and then stopped: it ran no further step body');
        }
      }
    });

    it('the woken process, once fenced, runs no further step body: the order stays paid (issue 13, item 7)', () => {
      for (const p of [res.naive, res.keyed]) expect([p.wokenStepsAfterFence, p.orderStatus]).toEqual([[], 'paid']);
    });
  });
}
