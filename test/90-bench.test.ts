// npm run bench in its tiniest mode (--quick-test), as a real child process on each database: it
// must finish, print its table, and write a JSON report that has every figure. Nothing here is
// timed and no speed is asserted: the numbers of so small a run mean nothing, and the machine is
// shared. Only what does not depend on speed is checked: a recovery makes a constant number of
// queries, and the ratios are the rates divided by the raw rate.
import { readFileSync, rmSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { missingFigures, type BenchReport } from '../bench/figures.js';
import { missingQueueFigures, QUEUE_SIZES } from '../bench/queue.js';
import { DATABASES, runScript, tempDir } from './helpers.js';

for (const kind of DATABASES) {
  describe(`${kind}: npm run bench`, () => {
    it('measures every figure in --quick-test mode, prints the table and writes the JSON', { timeout: 180_000 }, async () => {
      const out = tempDir('workbook-bench-test-');
      // PostgreSQL: the test server (the bench makes and drops a database of its own on it).
      const env = kind === 'postgres' ? { DATABASE_URL: inject('pgAdminUrl') } : { DATABASE_URL: undefined };
      const r = await runScript('bench/run.ts', env, { args: ['--quick-test', '--db', kind, '--out', out, '--markdown'], timeoutMs: 170_000 });
      expect(r.code, r.stderr).toBe(0);

      const file = /^BENCH_JSON: (.+)$/m.exec(r.stdout)?.[1];
      expect(file, r.stdout).toBeDefined();
      const report = JSON.parse(readFileSync(file!, 'utf8')) as BenchReport;
      expect(report.mode).toBe('quick-test');
      expect(report.databases.map((d) => d.kind)).toEqual([kind]);
      expect(missingFigures(report)).toEqual([]);

      const d = report.databases[0];
      // Each ratio is its rate over the raw rate measured around it (one round: before and after).
      const [before, after] = d.raw.commitsPerSecond.samples;
      expect(d.steps.ratioToRaw.median).toBeCloseTo(d.steps.perSecond.median / ((before + after) / 2), 6);
      // Each engine figure has its floor (the engine's SQL run without the engine), measured in the same round.
      for (const f of [d.steps, d.sequentialWorkflows]) {
        expect(f.floor.n).toBe(f.n);
        expect(f.ofFloor.median).toBeCloseTo(f.perSecond.median / f.floor.perSecond.median, 6);
        expect(f.floor.ratioToRaw.median).toBeCloseTo(f.floor.perSecond.median / ((before + after) / 2), 6);
      }
      // Recovery reads the recorded steps in one query, whatever their number (replayed, not re-run).
      expect(d.recovery.steps).toBe(1_000);
      expect(d.recovery.queries).toBeGreaterThan(0);
      expect(d.recovery.queries).toBeLessThanOrEqual(10);
      expect(d.ex5.users).toBe(1_000);
      expect(d.rss.lastSteps).toBeGreaterThan(d.rss.firstSteps);
      // Through a queue (bench/queue.ts): 1, 2 and 4 worker processes, each rate over the raw rate
      // measured before and after the phase, and every latency sample taken.
      expect(missingQueueFigures(kind, d.queue)).toEqual([]);
      const q = d.queue!;
      expect(q.raw.commitsPerSecond).toBeCloseTo((q.raw.before + q.raw.after) / 2, 6);
      for (const row of q.rows) {
        expect(row.perSecond).toBeGreaterThan(0);
        expect(row.ratioToRaw).toBeCloseTo(row.perSecond / q.raw.commitsPerSecond, 6);
        expect(row.latency.n).toBe(QUEUE_SIZES['quick-test'][kind].latencySamples);
        expect(row.latency.p99Ms).toBeGreaterThanOrEqual(row.latency.medianMs);
        expect(row.activeWorkers).toBeGreaterThanOrEqual(1);
        expect(row.activeWorkers).toBeLessThanOrEqual(row.workers);
      }

      // The table on stdout names every figure; progress went to stderr, a line per phase.
      for (const label of ['raw: single-row INSERT + commit', 'steps/s, one workflow of', 'one-step workflows/s, sequential',
        "↳ floor: the same steps, engine's SQL alone", "↳ floor: 2 commits each, engine's SQL alone", 'of floor',
        'one-step workflows/s, 100 at a time', 'ex5 end to end', 'recovery of 1,000 recorded steps', 'peak RSS after',
        'queue: 40 workflows per worker count, raw commits', 'one-step workflows/s', 'dequeue latency median']) {
        expect(r.stdout).toContain(label);
      }
      expect(r.stderr).toContain(`[${kind}] round 1/1`);
      expect(r.stderr).toMatch(new RegExp(`\\[${kind}\\] queue, 4 worker\\(s\\): \\d+ workflows/s`));
      // --markdown prints the same figures as the README's tables.
      expect(r.stdout).toContain('| figure | median of 1 round | rounds (min-max) | vs raw | of floor | target |');
      expect(r.stdout).toContain(`| recovery of 1,000 recorded steps | `);
      expect(r.stdout).toContain('| workers | workflows/s | ratio to raw commits | dequeue latency median | p99 |');
      rmSync(out, { recursive: true, force: true }); // kept when an assertion above fails, to look at
    });
  });
}

describe('npm run bench: bad input', () => {
  it('names the problem and the fix for an unknown database', async () => {
    const r = await runScript('bench/run.ts', {}, { args: ['--db', 'mysql'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--db mysql is not a database: use --db sqlite or --db postgres');
  });
});
