// The crash torture, small: a few seeded runs of the counter workload and of ex6 on each database,
// with real process.abort() deaths and real SIGKILLs, then the invariants. And the checker itself
// must catch a broken run (a step run after its recording, a gap, an unnamed status, a wrong result).
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { withDatabase } from '../lib/storage/open.js';
import { checkRun } from '../lib/torture/invariants.js';
import { configureWorkload, tortureCounter } from '../lib/torture/workload.js';
import { DATABASES, freshDatabase, marked, runScript, type DbKind, type RunResult } from './helpers.js';

afterEach(() => DBOS.shutdown());

interface Totals { runs: number; aborts: number; kills: number; recoveries: number; retries: number; violations: number }

const summaryOf = (r: RunResult) => marked<{ summary: Record<string, Totals> }>(r, 'TORTURE').summary;

const dbFlag = (kind: DbKind) => (kind === 'postgres' ? 'pg' : 'sqlite');

for (const kind of DATABASES) {
  describe(`${kind}: crash torture`, () => {
    it('counter workload: both kinds of death, recoveries, zero invariant violations', async () => {
      // A run's first process dies by its own seeded abort (seeds 1-3 abort there); every later
      // one gets a SIGKILL within 30 ms of STARTED (its launch and recovery, most of the time)
      // until 4 deaths, so both kinds of death happen.
      const r = await runScript('scripts/torture.ts', { TORTURE_PG_URL: inject('pgAdminUrl') }, {
        args: ['--runs', '3', '--db', dbFlag(kind), '--kill-chance', '1', '--kill-window-ms', '30', '--max-deaths', '4'],
        timeoutMs: 240_000,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const t = summaryOf(r)[kind];
      expect(t.runs).toBe(3);
      expect(t.violations).toBe(0);
      expect(t.aborts).toBeGreaterThan(0);
      expect(t.kills).toBeGreaterThan(0);
      expect(t.recoveries).toBeGreaterThan(0);
    });

    it('ex6 workload: the dedup count is exactly 1,000 after crashes', async () => {
      const r = await runScript('scripts/torture.ts', { TORTURE_PG_URL: inject('pgAdminUrl') }, {
        args: ['--runs', '1', '--seed-from', '2', '--db', dbFlag(kind), '--workload', 'ex6', '--max-deaths', '3'],
        timeoutMs: 240_000,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const t = summaryOf(r)[kind];
      expect(t.violations).toBe(0);
      expect(t.aborts + t.kills).toBeGreaterThan(0);
    });

    it('tx workload: raw app rows equal the recorded transaction outcomes after every run (aborts in and around transactions, SIGKILLs)', async () => {
      const r = await runScript('scripts/torture.ts', { TORTURE_PG_URL: inject('pgAdminUrl') }, {
        args: ['--runs', '3', '--db', dbFlag(kind), '--workload', 'tx', '--kill-chance', '1', '--max-deaths', '4'],
        timeoutMs: 240_000,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const t = summaryOf(r)[kind];
      expect(t.runs).toBe(3);
      expect(t.violations).toBe(0);
      expect(t.aborts).toBeGreaterThan(0);
      expect(t.kills).toBeGreaterThan(0);
      expect(t.retries).toBeGreaterThan(0); // transactions that failed after their write, rolled back
    });

    it('the checker catches a broken run', async () => {
      const { choice, env } = await freshDatabase(kind);
      const counterFile = join(env.WORKBOOK_DATA_DIR, 'counter.log');
      configureWorkload({ counterFile, faults: false, env: { WORKBOOK_SEED: '5' } });
      DBOS.setConfig({ name: 'torture', database: choice });
      await DBOS.launch();
      const result = await (await DBOS.startWorkflow(tortureCounter, { workflowID: 'torture-5' })(5)).getResult();
      await DBOS.shutdown();
      await withDatabase(choice, 'torture', 'torture-check-test', async (db) => {
        const check = (reference: unknown) =>
          checkRun({ db, rootID: 'torture-5', counterText: readFileSync(counterFile, 'utf8'), deadPids: new Set(), result, reference });
        const clean = await check(result);
        expect(clean.violations).toEqual([]);
        expect(clean.reRuns).toBe(0);

        // Break it four ways, each as a crash bug would.
        const S = kind === 'sqlite' ? '' : 'dbos.';
        appendFileSync(counterFile, `torture-5 0 2 1 ${process.pid} ${Date.now() + 60_000}\n`); // step 0 ran after its recording
        appendFileSync(counterFile, `torture-5 1 0 1 999999 1\n`); // step 1 ran in an execution that neither died nor recorded
        await db.app.exec(`DELETE FROM ${S}operation_outputs WHERE workflow_uuid = 'torture-5' AND function_id = 3`);
        await db.app.exec(`UPDATE ${S}workflow_status SET status = 'RUNNING' WHERE workflow_uuid = 'torture-5-5'`);
        const broken = (await check({ seed: 5, digest: -1 })).violations.join('\n');
        expect(broken).toMatch(/torture-5#0: ran 1 time\(s\) after its outcome was recorded/);
        expect(broken).toMatch(/torture-5#0: ran in execution\(s\) 2 after execution 1 recorded it/);
        expect(broken).toMatch(/torture-5#1: ran in execution 0 \(pid 999999\), which did not record it and did not die/);
        expect(broken).toMatch(/torture-5: function ids recorded are \[0,1,2,4,/);
        expect(broken).toMatch(/status "RUNNING", which the contract does not name/);
        expect(broken).toMatch(/differs from the crash-free result/);
      });
    });
  });
}
