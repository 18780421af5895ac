// ex11 through the retry loop (scripts/loop.ts, as a user runs it), with real crashing processes:
// however many failures after the write and crashes (before a COMMIT, after one, after a send) a
// seed brings, the RAW row count of the workflow, read here straight from the database, is exactly
// 1,000, and every page has exactly one recorded success. With insertPage a plain step instead of a
// transaction step, the raw count is above 1,000 and this test fails (tried on purpose).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabase, queryDatabase, resultOf, runScript, type LoopSummary } from './helpers.js';

interface Ex11Result { workflowID: string; how: string; attempt: number; raw: number; unique: number; rolledBack: number; sent: number; applied: number }

/** Seed 2 crashes before a COMMIT, after one and after a send; seed 4 crashes once, after a send: found by running them. */
const SEEDS = [2, 4];

for (const kind of DATABASES) {
  describe(`${kind}: ex11 in the retry loop`, () => {
    for (const seed of SEEDS) {
      it(`seed ${seed}: the raw COUNT(*) is exactly 1,000, and the receiver applied each send once`, async () => {
        const { choice, env } = await freshDatabase(kind);
        const r = await runScript('scripts/loop.ts', { ...env, WORKBOOK_SEED: String(seed), WORKBOOK_LOOP_SLEEP_MS: '0' }, {
          args: ['ex11', '--max-runs', '15'],
          timeoutMs: 170_000,
        });
        const loop = JSON.parse(/^LOOP: (.*)$/m.exec(r.stdout)?.[1] ?? 'null') as LoopSummary | null;
        expect(loop?.succeeded, r.stdout + r.stderr).toBe(true);
        expect(loop!.failed).toBe(0);
        expect(loop!.crashed).toBeGreaterThan(0);
        expect(loop!.ends.slice(0, -1).every((e) => e === 'SIGABRT')).toBe(true);
        const res = resultOf(r) as Ex11Result;
        expect(res.attempt).toBe(loop!.crashed + 1);

        // The database itself: the raw count, and one recorded success per page.
        const [db] = await queryDatabase(choice, 'ex11', 'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM users WHERE workflow_id = ?', [res.workflowID]);
        expect(db).toEqual({ n: 1000, ids: 1000 });
        expect(res.raw).toBe(1000);
        const ops = kind === 'postgres' ? 'dbos.operation_outputs' : 'operation_outputs';
        const [steps] = await queryDatabase(choice, 'ex11',
          `SELECT SUM(CASE WHEN error IS NULL THEN 1 ELSE 0 END) AS ok, SUM(CASE WHEN error IS NULL THEN 0 ELSE 1 END) AS failed
           FROM ${ops} WHERE workflow_uuid = ? AND function_name = 'insertPage'`, [res.workflowID]);
        expect(steps.ok).toBe(100);
        expect(steps.failed).toBe(res.rolledBack);
        // Failures after the write happened, and each rolled its rows back (else the count would be over).
        expect(res.rolledBack).toBeGreaterThan(0);

        // Part 2: more sends than batches reached the receiver; it applied each batch's once.
        const lines = readFileSync(join(env.WORKBOOK_DATA_DIR!, 'ex11-receiver.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        expect(lines.length).toBe(res.sent);
        expect(lines.length).toBeGreaterThan(10);
        const applied = lines.filter((l) => l.applied);
        expect(applied).toHaveLength(10);
        expect(new Set(applied.map((l) => l.key)).size).toBe(10);
        expect(applied.every((l) => l.key.startsWith(`${res.workflowID}:`))).toBe(true);

        if (seed === 2) {
          for (const site of ['crash-after-write', 'crash-after-commit', 'crash-after-send']) expect(r.stderr).toContain(`CRASHING at ${site}`);
        }
      }, 180_000);
    }
  });
}
