// ex2, run as a user runs it: the retried step inserts its page again and the real driver refuses.
import { describe, expect, it } from 'vitest';
import { deserialize } from '../lib/serialize.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, resultOf, runScript } from './helpers.js';

// The driver's own words for a unique-key violation.
const UNIQUE = {
  sqlite: /^UNIQUE constraint failed: users\.id, users\.workflow_id, users\.analyzed_at$/,
  postgres: /^duplicate key value violates unique constraint/,
};

for (const kind of DATABASES) {
  describe(`${kind}: ex2, the retry trap`, () => {
    it('fails with the unique violation, and the recorded error carries every attempt', async () => {
      const { choice, env } = await freshDatabase(kind);
      const r = await runScript('experiments/ex2.ts', env);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.code, r.stderr).toBe(1); // the workflow failed: the lesson
      expect(r.stdout).toContain('This failure is the lesson');

      const res = resultOf(r) as { workflowID: string; status: string; error: string; errors: string[]; rows: number };
      expect(res.status).toBe('ERROR');
      // 3 attempts: the simulated error after the first insert, then the database refusing twice.
      expect(res.errors).toHaveLength(3);
      expect(res.errors[0]).toMatch(/^Simulated error on attempt 1 of 3/);
      expect(res.errors[1]).toMatch(UNIQUE[kind]);
      expect(res.errors[2]).toMatch(UNIQUE[kind]);

      // Read the database directly, not the lesson's own report.
      await withDatabase(choice, 'ex2', 'test-50', async (db) => {
        const row = await db.getWorkflow(res.workflowID);
        expect(row?.status).toBe('ERROR');
        const recorded = deserialize<{ code: string; dbosErrorCode: number; message: string; errors: { message: string }[] }>(row!.error!);
        expect([recorded.code, recorded.dbosErrorCode]).toEqual(['MAX_STEP_RETRIES', 23]);
        expect(recorded.errors.map((e) => e.message)).toEqual(res.errors);
        for (const [i, m] of res.errors.entries()) expect(recorded.message).toContain(`Error ${i + 1}: ${m}`);
        // The first attempt's rows stayed although the step "failed": the side effect happened.
        const [{ n }] = await db.app.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM users WHERE workflow_id = ?', [res.workflowID]);
        expect(Number(n)).toBe(10);
        expect(res.rows).toBe(10);
      });
    });
  });
}
