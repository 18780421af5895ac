// ex3, run through the retry loop as a user runs it: real crashes (SIGABRT), real recovery, the
// dead letter and its resumption, and the same seed giving the same runs.
import { describe, expect, it } from 'vitest';
import { contextStore, type WorkflowContext } from '../lib/context.js';
import { Faults } from '../lib/faults.js';
import { withDatabase } from '../lib/storage/open.js';
import type { SystemDatabase } from '../lib/storage/types.js';
import { DATABASES, freshDatabase, marked, resultOf, runScript, type LoopSummary } from './helpers.js';

const SITE = 'crash-after-page-1';
// Seed 1 (the default) crashes execution attempt 1 and not attempt 2: one crash, then it finishes.
// Found by trying seeds 0..30 with predictedEnds() below; any seed whose first attempt crashes works.
const SEED = '1';
const FAST = { WORKBOOK_LOOP_SLEEP_MS: '50', WORKBOOK_WAIT_MS: '100' };

/** How the loop's runs must end for a seed: the crash draws of attempts 1, 2 ... from lib/faults.ts. */
function predictedEnds(seed: string, p: number): string[] {
  const faults = new Faults({ [SITE]: p }, { WORKBOOK_SEED: seed });
  const ends: string[] = [];
  for (let attempt = 1; attempt <= 4; attempt++) {
    const hit = contextStore.run({ attempt } as WorkflowContext, () => faults.chance(SITE).hit);
    ends.push(hit ? 'SIGABRT' : 'exit 0');
    if (!hit) break;
  }
  return ends;
}

const countUsers = (db: SystemDatabase) => db.app.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM users').then((r) => Number(r[0].n));
const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value/;

for (const kind of DATABASES) {
  describe(`${kind}: ex3, crash and recovery`, () => {
    it('finishes through the loop with exactly 20 users after a real crash, and the same seed replays the same runs', async () => {
      const ends: string[][] = [];
      for (const round of [1, 2]) {
        const { choice, env } = await freshDatabase(kind);
        const r = await runScript('scripts/loop.ts', { ...env, ...FAST, WORKBOOK_SEED: SEED }, { args: ['ex3', '--max-runs', '6'] });
        const loop = marked<LoopSummary>(r, 'LOOP');
        expect(r.code, `round ${round}\n${r.stdout}\n${r.stderr}`).toBe(0);
        expect(loop.ends).toContain('SIGABRT'); // a run really died by process.abort()
        expect(loop.ends.at(-1)).toBe('exit 0');
        expect(loop.crashed).toBe(r.stderr.match(/\[fault\] CRASHING at crash-after-page-1/g)?.length);
        expect(r.stdout + r.stderr).not.toMatch(UNIQUE_VIOLATION);

        const res = resultOf(r) as { workflowID: string; how: string; attempt: number; users: number; replayed: number[]; ran: number[] };
        expect(res.how).toBe('recovered');
        expect(res.attempt).toBe(loop.crashed + 1);
        expect(res.replayed).toEqual([0, 1, 2]); // analyzedAt, resetUsers, insertPage(1): checkpointed before the crash
        expect(res.ran).toEqual([3, 4]); // insertPage(2), countUsers
        await withDatabase(choice, 'ex3', 'test-51', async (db) => {
          expect(await countUsers(db)).toBe(20);
          const row = await db.getWorkflow(res.workflowID);
          expect([row?.status, row?.recoveryAttempts]).toEqual(['SUCCESS', loop.crashed + 1]);
        });
        ends.push(loop.ends);
      }
      expect(ends[1]).toEqual(ends[0]);
      expect(ends[0]).toEqual(predictedEnds(SEED, 0.5));
    });

    it('parks the workflow after its last recovery when every run crashes, and resuming it with no crashes finishes it', async () => {
      const { choice, env } = await freshDatabase(kind);
      const always = { ...env, ...FAST, WORKBOOK_P_CRASH_AFTER_PAGE_1: '1' };
      const r = await runScript('scripts/loop.ts', always, { args: ['ex3', '--max-runs', '5'] });
      const loop = marked<LoopSummary>(r, 'LOOP');
      expect(r.code, r.stdout + r.stderr).toBe(1); // no run finished
      // The first run and 3 recoveries crash; the 5th start parks it (exit 1, the workflow failed).
      expect(loop.ends).toEqual(['SIGABRT', 'SIGABRT', 'SIGABRT', 'SIGABRT', 'exit 1']);
      const id = /^DEAD_LETTER: (\S+)$/m.exec(r.stdout)?.[1];
      expect(id, r.stdout).toBeTruthy();
      expect(r.stdout).toContain(`--resume ${id}`);
      await withDatabase(choice, 'ex3', 'test-51', async (db) => {
        const parked = await db.listWorkflows({ status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' });
        expect(parked.map((w) => w.workflowID)).toEqual([id]);
        expect(await countUsers(db)).toBe(10); // page 1, recorded before the first crash
      });

      const resumed = await runScript('experiments/ex3.ts', { ...env, WORKBOOK_P_CRASH_AFTER_PAGE_1: '0' }, { args: ['--resume', id!] });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const res = resultOf(resumed) as { workflowID: string; how: string; users: number };
      expect([res.workflowID, res.how, res.users]).toEqual([id, 'resumed', 20]);
      await withDatabase(choice, 'ex3', 'test-51', async (db) => {
        expect((await db.getWorkflow(id!))?.status).toBe('SUCCESS');
        expect(await countUsers(db)).toBe(20);
      });
    });
  });
}
