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

interface Totals { runs: number; aborts: number; kills: number; recoveries: number; reRuns: number; retries: number; violations: number }

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
      // A step whose body ran and whose process died before recording it ran again, and the checker
      // saw it as a re-run (not a violation). A first process is never SIGKILLed: its seeded abort is
      // the same on every machine, and one of seeds 1-3 aborts between a step's effect and its record.
      expect(t.reRuns).toBeGreaterThan(0);
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

    it('the checker catches each other kind of damage, and counts a re-run by a dead process as a re-run', async () => {
      const { choice, env } = await freshDatabase(kind);
      const counterFile = join(env.WORKBOOK_DATA_DIR, 'counter.log');
      configureWorkload({ counterFile, faults: false, env: { WORKBOOK_SEED: '6' } });
      DBOS.setConfig({ name: 'torture', database: choice });
      await DBOS.launch();
      const result = await (await DBOS.startWorkflow(tortureCounter, { workflowID: 'torture-6' })(6)).getResult();
      await DBOS.shutdown();
      await withDatabase(choice, 'torture', 'torture-check-test', async (db) => {
        const S = kind === 'sqlite' ? '' : 'dbos.';
        const op = async (fid: number) => (await db.loadOperations('torture-6')).find((o) => o.functionID === fid)!;
        // A re-run: step 12's body also ran in an execution 0 whose process died before recording it.
        let counter = readFileSync(counterFile, 'utf8');
        counter += `torture-6 12 0 1 424242 ${(await op(12)).completedAtEpochMs - 1}\n`;
        const rerun = await checkRun({ db, rootID: 'torture-6', counterText: counter, deadPids: new Set([424242]), result, reference: result });
        expect(rerun.violations).toEqual([]);
        expect(rerun.reRuns).toBe(1);

        const setOp = (fid: number, set: string) => db.app.exec(`UPDATE ${S}operation_outputs SET ${set} WHERE workflow_uuid = 'torture-6' AND function_id = ${fid}`);
        const setWf = (id: string, set: string) => db.app.exec(`UPDATE ${S}workflow_status SET ${set} WHERE workflow_uuid = '${id}'`);
        await db.app.exec(`INSERT INTO ${S}operation_outputs (workflow_uuid, function_id, function_name, started_at_epoch_ms, completed_at_epoch_ms) VALUES ('ghost', 0, 'counterStep', 0, 0)`);
        await db.app.exec(`DELETE FROM ${S}workflow_status WHERE workflow_uuid = 'torture-6-27'`);
        await db.app.exec(`INSERT INTO ${S}workflow_status (workflow_uuid, status, name, created_at, updated_at) VALUES ('intruder', 'SUCCESS', 'w', 0, 0)`);
        await setWf('torture-6-16', `status = 'ERROR'`); // the children are at function ids 5, 16, 27 (each start followed by its DBOS.getResult)
        await setWf('torture-6-5', 'recovery_attempts = 0');
        await setOp(7, `error = '{"name":"Error","message":"x"}'`);
        await setOp(8, `function_name = 'renamedStep'`);
        await setOp(16, `child_workflow_id = 'elsewhere'`);
        await setOp(10, 'execution_attempt = 4');
        await setOp(11, 'attempts = 3');
        counter = counter.split('\n').filter((l) => !l.startsWith('torture-6 9 ')).join('\n') + 'torture-6 13 1\n'; // step 9's runs lost; a torn line
        const out = await checkRun({ db, rootID: 'torture-6', counterText: counter, deadPids: new Set([424242]), result, reference: result });
        const v = out.violations.join('\n');
        for (const want of [
          /operation_outputs row\(s\) belong to no workflow/,
          /workflow torture-6-27 was never started/,
          /unexpected workflow intruder \(w, SUCCESS\)/,
          /workflow torture-6-16 ended ERROR, not SUCCESS/,
          /workflow torture-6-5 has recovery_attempts 0 \(< 1\)/,
          /torture-6 function 7: recorded an error/,
          /torture-6 function 8: recorded renamedStep, the code calls counterStep/,
          /torture-6#8: the counter shows a step body run, but no step outcome is recorded there/,
          /torture-6 function 16: child id elsewhere/,
          /torture-6#9: outcome recorded, but the counter never saw its body run/,
          /torture-6#10: recorded by execution 4, but the counter's last run before the recording is execution 1/,
          /torture-6#11: the recording execution ran the body 1 time\(s\), but 3 attempt\(s\) are recorded/,
        ]) expect(v).toMatch(want);
        expect(out.torn).toBe(1);
        expect(out.reRuns).toBe(1);
      });
    });
  });
}
