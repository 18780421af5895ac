// The ownership fence and the compare-and-set claim, where nothing else would refuse the write.
// A paused process whose workflow was taken over wakes up and records a step the new owner has not
// recorded yet: the row is still PENDING and the function id is free, so neither the status nor
// ON CONFLICT refuses it; only the fence (executor and execution attempt) does. And two processes
// that see the same PENDING row and claim it at once: exactly one gets it.
import { afterEach, describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { state } from '../lib/state.js';
import { withDatabase } from '../lib/storage/open.js';
import type { OperationRow, SystemDatabase } from '../lib/storage/types.js';
import { DATABASES, freshDatabase } from './helpers.js';

afterEach(() => DBOS.shutdown());

const bodies: string[] = [];
let paused: { reached: () => void; release: Promise<void> } | undefined;

const quick = DBOS.registerStep(async function quick() {
  bodies.push('quick');
  return 1;
});
const slow = DBOS.registerStep(async function slow() {
  bodies.push('slow');
  paused?.reached();
  await paused?.release; // the process "sleeps" here (a SIGSTOP, a GC pause, a laptop lid)
  return 2;
});
const after = DBOS.registerStep(async function after() {
  bodies.push('after');
  return 3;
});
const takenOver = DBOS.registerWorkflow(async function takenOver() {
  return (await quick()) + (await slow()) + (await after());
});

const op = (workflowID: string, functionID: number, functionName: string): OperationRow => ({
  workflowID, functionID, functionName, output: '2', error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: 0, completedAtEpochMs: 0,
});
const newWorkflow = (workflowID: string, executorID: string) => ({
  workflowID, name: 'w', inputs: '[]', executorID, applicationID: 'fence', applicationVersion: '1', parentWorkflowID: null, now: Date.now(),
});

for (const kind of DATABASES) {
  describe(`${kind}: the fence and the claim`, () => {
    it('a taken-over workflow: the old owner, woken, cannot record the step the new owner has not recorded yet', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'fence', database: choice });
      await DBOS.launch();
      bodies.length = 0;
      let release!: () => void;
      const reachedSlow = new Promise<void>((reached) => {
        paused = { reached, release: new Promise<void>((r) => (release = r)) };
      });
      await DBOS.startWorkflow(takenOver, { workflowID: 'paused' })();
      await reachedSlow;
      const execution = state.running.get('paused')!;

      // Another process takes it over while this one sleeps in step 1 (its lease ran out).
      await withDatabase(choice, 'fence', 'fence-new-owner', async (other: SystemDatabase) => {
        expect(await other.claimWorkflow('paused', 1, 'new-owner', Date.now())).toBe(2);
        const row = (await other.getWorkflow('paused'))!;
        expect([row.status, row.executorID, row.recoveryAttempts]).toEqual(['PENDING', 'new-owner', 2]);
        expect((await other.loadOperations('paused')).map((o) => o.functionID)).toEqual([0]); // step 1 is free

        // The old owner wakes: its write of step 1 is refused, and it runs no step after it.
        release();
        expect(await execution).toEqual({ kind: 'elsewhere' });
        expect(bodies).toEqual(['quick', 'slow']);
        expect((await other.loadOperations('paused')).map((o) => o.functionID)).toEqual([0]);
        expect(await other.getWorkflow('paused')).toMatchObject({ status: 'PENDING', executorID: 'new-owner', recoveryAttempts: 2, output: null });

        // The old fence, written straight: refused for a step and for the outcome; the new owner's accepted.
        const old = { executorID: state.executorID, attempt: 1 };
        expect(await other.recordOperation(op('paused', 1, 'slow'), old)).toBe(false);
        expect(await other.recordOperation(op('paused', 1, 'slow'), { executorID: 'new-owner', attempt: 1 })).toBe(false);
        expect(await other.recordOperation(op('paused', 1, 'slow'), { executorID: state.executorID, attempt: 2 })).toBe(false);
        expect(await other.finishWorkflow('paused', 'SUCCESS', '6', null, old, Date.now())).toBe(false);
        expect(await other.recordOperation(op('paused', 1, 'slow'), { executorID: 'new-owner', attempt: 2 })).toBe(true);
        expect((await other.loadOperations('paused')).map((o) => [o.functionID, o.executionAttempt])).toEqual([[0, 1], [1, 2]]);
        expect(await other.finishWorkflow('paused', 'SUCCESS', '6', null, { executorID: 'new-owner', attempt: 2 }, Date.now())).toBe(true);
      });
      paused = undefined;
    });

    it('compare-and-set: two claims of the same PENDING row at the same attempt, one wins; the loser writes nothing', async () => {
      const { choice } = await freshDatabase(kind);
      await withDatabase(choice, 'fence', 'fence-claims', async (db) => {
        await db.insertWorkflow(newWorkflow('orphan', 'dead-executor'));
        const claims = await Promise.all([db.claimWorkflow('orphan', 1, 'a', Date.now()), db.claimWorkflow('orphan', 1, 'b', Date.now())]);
        expect(claims.filter((c) => c === 2)).toHaveLength(1);
        expect(claims.filter((c) => c === null)).toHaveLength(1);
        const winner = claims[0] === 2 ? 'a' : 'b';
        const loser = winner === 'a' ? 'b' : 'a';
        expect(await db.getWorkflow('orphan')).toMatchObject({ executorID: winner, recoveryAttempts: 2 });
        // The loser's stale view (attempt 1) claims nothing, even later; the winner's fence holds.
        expect(await db.claimWorkflow('orphan', 1, loser, Date.now())).toBeNull();
        expect(await db.recordOperation(op('orphan', 0, 's'), { executorID: loser, attempt: 2 })).toBe(false);
        expect(await db.recordOperation(op('orphan', 0, 's'), { executorID: winner, attempt: 2 })).toBe(true);
        // A claim of a finished workflow is refused too.
        expect(await db.finishWorkflow('orphan', 'SUCCESS', '1', null, { executorID: winner, attempt: 2 }, Date.now())).toBe(true);
        expect(await db.claimWorkflow('orphan', 2, loser, Date.now())).toBeNull();
        expect(await db.getWorkflow('orphan')).toMatchObject({ status: 'SUCCESS', executorID: winner, recoveryAttempts: 2 });
      });
    });
  });
}
