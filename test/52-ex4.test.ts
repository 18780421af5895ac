// ex4, run through the retry loop: crashes after page 1 leave rows behind, never a unique violation,
// and the execution that finishes writes exactly 20 users.
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, marked, resultOf, runScript, type LoopSummary } from './helpers.js';

// Seed 14 crashes execution attempts 1 and 2 and not 3 (found by trying seeds 0..30 against
// lib/faults.ts): two crashes, so two executions' page 1 stay behind.
const SEED = '14';

for (const kind of DATABASES) {
  describe(`${kind}: ex4, the right step design`, () => {
    it('finishes through the loop with 20 users in the final execution, the crashed ones counted apart, no unique violation', async () => {
      const { choice, env } = await freshDatabase(kind);
      const r = await runScript('scripts/loop.ts', { ...env, WORKBOOK_SEED: SEED, WORKBOOK_LOOP_SLEEP_MS: '50', WORKBOOK_WAIT_MS: '100' }, {
        args: ['ex4', '--max-runs', '6'],
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const loop = marked<LoopSummary>(r, 'LOOP');
      expect(loop.ends).toContain('SIGABRT'); // a run really died by process.abort()
      expect(loop.ends.at(-1)).toBe('exit 0');
      expect(r.stdout + r.stderr).not.toMatch(/UNIQUE constraint failed|duplicate key value/);
      // The generate step failed once per page and execution, and its retry did no harm.
      expect(r.stdout).toContain('step generateUsers(1), attempt 2/2: 10 users generated');

      const res = resultOf(r) as { workflowID: string; users: number; leftover: number; total: number; executions: number; attempt: number };
      // "20 users" = the rows of the execution that finished; each crash after page 1 left its 10.
      expect(res.users).toBe(20);
      expect(res.leftover).toBe(10 * loop.crashed);
      expect(res.executions).toBe(loop.crashed + 1);
      expect(res.attempt).toBe(loop.crashed + 1);

      await withDatabase(choice, 'ex4', 'test-52', async (db) => {
        expect((await db.getWorkflow(res.workflowID))?.status).toBe('SUCCESS');
        const groups = await db.app.query<{ analyzed_at: string; n: unknown }>(
          'SELECT analyzed_at, COUNT(*) AS n FROM users WHERE workflow_id = ? GROUP BY analyzed_at ORDER BY analyzed_at',
          [res.workflowID],
        );
        // One analyzed_at per execution: 10 rows for each crashed one, 20 for the last.
        expect(groups.map((g) => Number(g.n))).toEqual([...Array(loop.crashed).fill(10), 20]);
        const [{ n }] = await db.app.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM users');
        expect(Number(n)).toBe(res.total);
        expect(res.total).toBe(20 + 10 * loop.crashed);
      });
    });
  });
}
