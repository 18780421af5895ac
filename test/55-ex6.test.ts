// ex6 through the retry loop (scripts/loop.ts, as a user runs it), with fixed seeds: however many
// step retries and crashes a seed brings, the unique count is exactly 1,000, and it matches what
// the database itself says (COUNT(DISTINCT id), read here, not by the lesson). And the count is
// counted: with users of other ids added to the workflow's rows (with copies of their own), the
// lesson's count follows the database, not the 1,000 every seed happens to have.
import { describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, queryDatabase, resultOf, runScript, type LoopSummary } from './helpers.js';
import { countFixture, insertExtraUsers } from './fixtures/ex6-count.js';

interface Ex6Result { workflowID: string; how: string; attempt: number; rows: number; retryDuplicates: number; crashDuplicates: number; unique: number }

/** Seed 2 crashes three times (and fails inserts), 4 crashes once, 11 never crashes: found by running them. */
const SEEDS = [
  { seed: 2, crashes: true },
  { seed: 4, crashes: true },
  { seed: 11, crashes: false },
];

/** Rows and distinct users of one workflow, read straight from the child's database. */
async function fromDatabase(choice: DatabaseChoice, workflowID: string): Promise<{ rows: number; ids: number }> {
  const [r] = await queryDatabase(choice, 'ex6', 'SELECT COUNT(*) AS rows, COUNT(DISTINCT id) AS ids FROM users WHERE workflow_id = ?', [workflowID]);
  return { rows: r.rows, ids: r.ids };
}

for (const kind of DATABASES) {
  describe(`${kind}: ex6 counts what the database holds`, () => {
    it('countUnique on a fixture whose duplicates have different ids: retry copies, crash copies, another workflow', async () => {
      const { choice } = await freshDatabase(kind);
      const f = await withDatabase(choice, 'ex6', 'ex6-count-test', (db) => countFixture(db.app));
      expect(f.counted).toBe(f.expected);
      const [db] = await queryDatabase(choice, 'ex6', 'SELECT COUNT(DISTINCT id) AS ids, COUNT(*) AS rows FROM users WHERE workflow_id = ?', [f.workflowID]);
      expect(db.ids).toBe(f.expected);
      expect(db.rows).toBeGreaterThan(f.expected * 2); // the fixture does hold duplicates of each kind
    });

    it('a crashed run, then users of different ids added to its rows: the recovered count follows the database, not 1,000', async () => {
      const { choice, env } = await freshDatabase(kind);
      const run = () => runScript('experiments/ex6.ts', { ...env, WORKBOOK_SEED: '4' }, { timeoutMs: 60_000 });
      const first = await run();
      expect(first.signal, first.stdout + first.stderr).toBe('SIGABRT'); // seed 4 crashes once, after a write
      const workflowID = /^STARTED: new workflow (\S+)$/m.exec(first.stdout)![1];
      const extra = await withDatabase(choice, 'ex6', 'ex6-count-test', (db) => insertExtraUsers(db.app, workflowID));
      let last = await run();
      for (let i = 0; i < 5 && last.code !== 0; i++) last = await run();
      expect(last.code, last.stdout + last.stderr).toBe(0);
      const res = resultOf(last) as Ex6Result;
      expect(res.workflowID).toBe(workflowID);
      const db = await fromDatabase(choice, workflowID);
      expect(db.ids).toBe(1000 + extra.ids);
      expect(res.unique).toBe(db.ids);
      expect(res.rows).toBe(db.rows);
      expect(res.crashDuplicates).toBeGreaterThanOrEqual(100 + extra.rows - extra.ids);
    });
  });

  describe(`${kind}: ex6 in the retry loop`, () => {
    for (const { seed, crashes } of SEEDS) {
      it(`seed ${seed}${crashes ? ' (step retries and crashes)' : ' (step retries, no crash)'}: exactly 1,000 unique users`, async () => {
        const { choice, env } = await freshDatabase(kind);
        const r = await runScript('scripts/loop.ts', { ...env, WORKBOOK_SEED: String(seed), WORKBOOK_LOOP_SLEEP_MS: '0' }, {
          args: ['ex6', '--max-runs', '15'],
          timeoutMs: 110_000,
        });
        const loopLine = /^LOOP: (.*)$/m.exec(r.stdout);
        expect(loopLine, r.stdout + r.stderr).not.toBeNull();
        const loop = JSON.parse(loopLine![1]) as LoopSummary;
        expect(loop.succeeded, r.stdout + r.stderr).toBe(true);
        expect(r.code).toBe(0);
        const res = resultOf(r) as Ex6Result;

        // How the runs ended: every run but the last died by SIGABRT (process.abort), none failed.
        expect(loop.failed).toBe(0);
        expect(loop.ends.slice(0, -1).every((e) => e === 'SIGABRT')).toBe(true);
        expect(loop.ends.at(-1)).toBe('exit 0');
        expect(r.stdout.match(/^STARTED: new workflow /gm)).toHaveLength(1);
        // launch() runs what it recovers at once: a recovered run may crash again before the lesson
        // prints RECOVERED (its RESUMING line, printed by the workflow, comes in every run).
        expect((r.stdout.match(/^RECOVERED: workflow /gm) ?? []).length).toBeLessThanOrEqual(loop.crashed);
        expect(r.stdout.match(/^RESUMING at batch \d+/gm) ?? []).toHaveLength(loop.crashed);
        expect(res.how).toBe(loop.crashed > 0 ? 'recovered' : 'new');
        expect(res.attempt).toBe(loop.crashed + 1);

        // The count: exact, and equal to what the database says.
        expect(res.unique).toBe(1000);
        const db = await fromDatabase(choice, res.workflowID);
        expect(db.ids).toBe(1000);
        expect(res.unique).toBe(db.ids);
        expect(res.rows).toBe(db.rows);
        expect(res.rows).toBe(res.unique + res.retryDuplicates + res.crashDuplicates);

        // Where the duplicates came from: each failure after a write is one batch written again
        // with the same analyzed_at; each crash, one batch written again by the next execution.
        const failures = (r.stderr.match(/FAILING at insert-after-write/g) ?? []).length;
        expect(res.retryDuplicates).toBe(100 * failures);
        expect(res.crashDuplicates).toBe(100 * loop.crashed);

        if (crashes) {
          expect(loop.ends).toContain('SIGABRT');
          expect(res.retryDuplicates).toBeGreaterThan(0);
          expect(res.crashDuplicates).toBeGreaterThan(0);
          expect(res.rows).toBeGreaterThan(1000);
        } else {
          expect(loop.crashed).toBe(0);
        }
      });
    }
  });
}
