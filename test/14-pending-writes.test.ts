// Promise 15 (docs/DESIGN.md): a step's outcome is written at the next point that needs it durable,
// and the last one in the same commit as the workflow's end. So a one-step workflow is two commits
// (start, end) and an N-step workflow N + 1, counted by the databases themselves: SQLite's driver
// counts the commits it makes (group commit), PostgreSQL stamps every row with the id of the
// transaction that wrote it last (xmin). And a crash between the last step and the end re-runs that
// step on recovery (at-least-once, promise 3), with the same result: the crash-test harness's 'end' point.
import { describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { crashTest } from '../lib/harness/index.js';
import { engineTuning } from '../lib/engine.js';
import { queryStats } from '../lib/storage/driver.js';
import { sqliteCommits } from '../lib/storage/sqlite.js';
import { db } from '../lib/state.js';
import { DATABASES, freshDatabase } from './helpers.js';

const STEPS = 5;
const step = DBOS.registerStep(async function pendingStep(i: number) {
  return i * 2;
});
const oneStep = DBOS.registerWorkflow(async function pendingOneStep(i: number) {
  return step(i);
});
const nSteps = DBOS.registerWorkflow(async function pendingNSteps(n: number) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await step(i);
  return sum;
});

let lateRuns = 0;
const lateStep = DBOS.registerStep(async function pendingLateStep() {
  lateRuns++;
  return 'ran';
});
const lateFirstStep = DBOS.registerWorkflow(async function pendingLateFirst(waitMs: number) {
  await new Promise((r) => setTimeout(r, waitMs)); // code before the first step that takes a while
  return lateStep();
});

/** PostgreSQL: the distinct transactions that last wrote the workflow's rows (start, steps, end), and which wrote each step. */
async function writersOnPostgres(workflowID: string): Promise<{ transactions: number; stepWriters: string[]; endWriter: string }> {
  const q = (table: string) => `SELECT '${table}' AS t, xmin::text AS x, ${table === 'operation_outputs' ? 'function_id' : '-1'} AS f FROM dbos.${table} WHERE workflow_uuid = ?`;
  const rows = await DBOS.appDatabase.query<{ t: string; x: string; f: number }>(
    ['workflow_status', 'workflow_input', 'operation_outputs', 'workflow_output'].map(q).join(' UNION ALL ') + ' ORDER BY 1, 3',
    Array(4).fill(workflowID),
  );
  return {
    transactions: new Set(rows.map((r) => r.x)).size,
    stepWriters: rows.filter((r) => r.t === 'operation_outputs').map((r) => r.x),
    endWriter: rows.find((r) => r.t === 'workflow_status')!.x,
  };
}

for (const kind of DATABASES) {
  describe(`${kind}: pending step outcomes (promise 15)`, () => {
    it(`a one-step workflow is 2 commits, ${STEPS} steps ${STEPS + 1}; the last step commits with the end`, async () => {
      const { choice } = await freshDatabase(kind);
      // No heartbeat or recovery pass in between: only the workflows write.
      DBOS.setConfig({ name: 'pendingwrites', database: choice, executorLeaseMs: 600_000, recoveryIntervalMs: 0 });
      await DBOS.launch();
      try {
        const commitsOf = async (run: () => Promise<unknown>, id: string): Promise<number> => {
          if (kind === 'sqlite') {
            const before = sqliteCommits.commits;
            await run();
            return sqliteCommits.commits - before;
          }
          await run();
          const w = await writersOnPostgres(id);
          // The last step's row was written by the transaction that wrote the end; each other step by its own.
          expect(w.stepWriters.at(-1)).toBe(w.endWriter);
          expect(new Set(w.stepWriters).size).toBe(w.stepWriters.length);
          return w.transactions;
        };
        expect(await commitsOf(() => DBOS.startWorkflow(oneStep, { workflowID: 'one' })(21).then((h) => h.getResult()), 'one')).toBe(2);
        expect(await commitsOf(() => DBOS.startWorkflow(nSteps, { workflowID: 'n' })(STEPS).then((h) => h.getResult()), 'n')).toBe(STEPS + 1);
        // Nothing was lost on the way: every step is recorded, with its value.
        expect((await DBOS.listWorkflowSteps('n')).map((s) => s.output)).toEqual([0, 2, 4, 6, 8]);
        expect((await DBOS.listWorkflowSteps('one')).map((s) => s.output)).toEqual([42]);
      } finally {
        await DBOS.shutdown();
      }
    });

    it('a first step right after the start reads nothing (the insert just proved the fence); one started later reads, and sees a cancel from elsewhere', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'pendingreads', database: choice, executorLeaseMs: 600_000, recoveryIntervalMs: 0 });
      await DBOS.launch();
      try {
        const statementsOf = async (i: number): Promise<number> => {
          const before = queryStats.statements;
          await oneStep(i);
          return queryStats.statements - before;
        };
        await statementsOf(0); // warm: the first call of each statement prepares it
        const checked = await statementsOf(1);
        engineTuning.checkBeforeStep = false;
        let unchecked: number;
        try {
          unchecked = await statementsOf(2);
        } finally {
          engineTuning.checkBeforeStep = true;
        }
        expect(checked).toBe(unchecked); // the start's insert stands for the check: no read of its own
        if (kind !== 'sqlite') expect(checked).toBe(2); // one statement per commit on PostgreSQL
        // The workflow's code waits 200 ms before its first step; meanwhile another process cancels it
        // (a direct status change, as DBOS.cancelWorkflow from elsewhere writes): the step must not run.
        lateRuns = 0;
        const handle = await DBOS.startWorkflow(lateFirstStep, { workflowID: 'late' })(200);
        expect(await db().setStatus('late', 'CANCELLED', ['PENDING'], { now: Date.now() })).toBe(true);
        await expect(handle.getResult()).rejects.toThrow(/cancel/i);
        expect(lateRuns).toBe(0);
        expect((await DBOS.getWorkflowStatus('late'))?.status).toBe('CANCELLED');
        // Without the wait, the same workflow runs its step with no read before it.
        expect(await lateFirstStep(0)).toBe('ran');
        expect(lateRuns).toBe(1);
      } finally {
        await DBOS.shutdown();
      }
    });

    it('a crash between the last step and the end re-runs that step on recovery, with the same result', async () => {
      const fresh = await freshDatabase(kind);
      const report = await crashTest('examples/order/fixed.ts', 'order', undefined, {
        log: () => {}, keepDatabases: false, when: ['end'], db: kind === 'sqlite' ? 'sqlite' : 'pg', env: { ...process.env, ...fresh.env },
      });
      expect(report.ok).toBe(true);
      expect(report.points.map((p) => `${p.when} ${p.functionID} ${p.name}`)).toEqual(['end 2 sendEmail']);
      // At the death two outcomes were durable (steps 0 and 1); the last one was pending, and ran again.
      expect(report.points[0].replayed).toBe(2);
      expect(report.points[0].ranTwice).toEqual(['step 2 (sendEmail)']);
    });
  });
}
