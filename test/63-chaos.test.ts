// The chaos torture, short: on each database a run of 100 workflows while the database is attacked
// from outside (PostgreSQL restarted -m immediate and -m fast, its sessions terminated; SQLite's
// write lock held past the busy timeout, its disk filled), then the invariants: every workflow
// SUCCESS, each step recorded once, none left PENDING, no worker process crashed. And the checker
// itself must catch a run where a fault decided an outcome.
import { describe, expect, it } from 'vitest';
import { serializeError } from '../lib/serialize.js';
import { withDatabase } from '../lib/storage/open.js';
import { checkChaos } from '../lib/torture/chaos-check.js';
import { DATABASES, freshDatabase, marked, runScript, type DbKind } from './helpers.js';

interface Totals { runs: number; workflows: number; faults: Record<string, number>; success: number; error: number; unfinished: number; crashed: number; violations: number }

const dbFlag = (kind: DbKind) => (kind === 'postgres' ? 'pg' : 'sqlite');
/** The faults each database must have met in the run (disk-full needs a tmpfs: root and mount). */
const MUST_MEET: Record<DbKind, RegExp> = { postgres: /^restart-(immediate|fast)$/, sqlite: /^lock$/ };

for (const kind of DATABASES) {
  describe(`${kind}: chaos torture`, () => {
    it('100 workflows under outside faults: all SUCCESS, each step once, none PENDING, no process crashed', async () => {
      // Its own embedded server on PostgreSQL (the faults restart it), so no TORTURE_PG_URL here.
      const r = await runScript('scripts/torture.ts', {}, {
        args: ['--chaos', '--runs', '1', '--seed-from', '2', '--db', dbFlag(kind), '--workflows', '100', '--spread-ms', '10000'],
        timeoutMs: 280_000,
      });
      const t = marked<{ summary: Record<string, Totals> }>(r, 'TORTURE').summary[kind];
      expect({ error: t.error, unfinished: t.unfinished, crashed: t.crashed, violations: t.violations }, r.stdout + r.stderr)
        .toEqual({ error: 0, unfinished: 0, crashed: 0, violations: 0 });
      expect(t.success).toBe(100);
      expect(r.code).toBe(0);
      // The run really was attacked: at least two faults, among them the database's main one.
      const faults = Object.entries(t.faults);
      expect(faults.some(([f, n]) => MUST_MEET[kind].test(f) && n > 0), JSON.stringify(t.faults)).toBe(true);
      expect(faults.reduce((a, [, n]) => a + n, 0), JSON.stringify(t.faults)).toBeGreaterThanOrEqual(2);
    }, 300_000);

    it('the checker catches an ERROR a fault decided, a workflow left PENDING, one never started, a skipped step', async () => {
      const { choice } = await freshDatabase(kind);
      await withDatabase(choice, 'chaos', 'test-62', async (db) => {
        const fence = { executorID: 'x', attempt: 1 };
        const now = Date.now();
        const make = async (id: string, steps: number[]) => {
          await db.insertWorkflow({ workflowID: id, name: 'chaosWorkflow', inputs: '[]', executorID: 'x', applicationID: 'chaos', applicationVersion: '1', parentWorkflowID: null, now });
          for (const f of steps) {
            await db.recordOperation({ workflowID: id, functionID: f, functionName: 'chaosStep', output: '1', error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: now, completedAtEpochMs: now }, fence);
          }
        };
        await make('chaos-0', [0, 1, 2]);
        await db.finishWorkflow('chaos-0', 'SUCCESS', '3', null, fence, now);
        const clean: string[] = [];
        expect(await checkChaos(db, 1, 3, (m) => clean.push(m))).toEqual({ success: 1, error: 0, unfinished: 0, other: 0 });
        expect(clean).toEqual([]);

        await make('chaos-1', [0]);
        const driverError = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
        await db.finishWorkflow('chaos-1', 'ERROR', null, serializeError(driverError), fence, now);
        await make('chaos-2', [0, 1]); // left PENDING
        await make('chaos-4', [0, 2]); // a step skipped
        await db.finishWorkflow('chaos-4', 'SUCCESS', '3', null, fence, now);
        // chaos-3 never started

        const found: string[] = [];
        const tally = await checkChaos(db, 5, 3, (m) => found.push(m));
        expect(tally).toEqual({ success: 2, error: 1, unfinished: 1, other: 1 });
        const text = found.join('\n');
        expect(text).toMatch(/chaos-1 ended ERROR: .*terminating connection due to administrator command/);
        expect(text).toMatch(/chaos-2 was left PENDING after the run/);
        expect(text).toMatch(/chaos-3 was never started/);
        expect(text).toMatch(/chaos-4: function ids recorded are \[0,2\], expected 0\.\.2 once each/);
        expect(found).toHaveLength(4);
      });
    });
  });
}
