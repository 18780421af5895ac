// The crash-test harness on real child processes that really die (SIGABRT) and recover:
// the order example's buggy version fails exactly where its duplicate charge happens, the fixed
// one passes; the result and table comparisons catch what they claim to; bad input exits 2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { crashTest, CrashTestError, type CrashTestReport } from '../lib/harness/index.js';
import { formatPoint } from '../lib/harness/report.js';
import type { ChildRun } from '../lib/harness/spawn.js';
import { judge } from '../lib/harness/verdict.js';
import { DATABASES, freshDatabase, runScript, tempDir } from './helpers.js';

const quiet = { log: () => {}, keepDatabases: false, when: ['after', 'before'] as ('after' | 'before')[] }; // the 'end' points: test/14
const failedPoints = (r: CrashTestReport) => r.points.filter((p) => !p.ok).map((p) => `${p.when} ${p.functionID} ${p.name}`);

/** A workflow module written for one test, importing the engine by absolute path. */
function tempModule(source: string): string {
  const file = join(tempDir('harness-fixture-'), 'workflow.mts'); // .mts: an ES module wherever it lies, so it shares the engine with the harness
  writeFileSync(file, source.replaceAll('LIB', join(PROJECT_ROOT, 'lib', 'index.js')));
  return file;
}

for (const kind of DATABASES) {
  describe(`${kind}: the crash-test harness on the order example`, () => {
    const db = kind === 'sqlite' ? 'sqlite' : 'pg';
    it('fails the buggy order at the crash before chargeCard is recorded, and only there', async () => {
      const fresh = await freshDatabase(kind);
      const err = await crashTest('examples/order/buggy.ts', 'order', undefined, { ...quiet, db, concurrency: 2, env: { ...process.env, ...fresh.env } })
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(CrashTestError);
      const report = (err as CrashTestError).report;
      expect(report.points).toHaveLength(6); // 3 steps x (after, before)
      expect(failedPoints(report)).toEqual(['before 1 chargeCard']);
      const bad = report.points.find((p) => !p.ok)!;
      expect(bad.problems).toEqual(['check: order order-1 was charged 2 times, expected exactly once']);
      expect(bad.ranTwice).toEqual(['step 1 (chargeCard)']);
      expect((err as Error).message).toMatch(/crash before recording step 1 \(chargeCard\) of workflow crash-test/);
    });

    it('passes the fixed order at every crash point; a crash before recording re-runs exactly that step', async () => {
      const fresh = await freshDatabase(kind);
      const report = await crashTest('examples/order/fixed.ts', 'order', undefined, { ...quiet, db, concurrency: 2, env: { ...process.env, ...fresh.env } });
      expect(report.ok).toBe(true);
      expect(report.reference).toEqual({ status: 'SUCCESS', output: JSON.stringify({ orderID: 'order-1', reserved: 2, charged: 1999, emailed: 'ada@example.com' }), error: null });
      // Every crash point was tried: before and after each of the three steps (the loop below must not pass on none).
      expect(report.points.map((p) => `${p.when} ${p.functionID} ${p.name}`).sort()).toEqual(
        ['after 0 reserveStock', 'after 1 chargeCard', 'after 2 sendEmail', 'before 0 reserveStock', 'before 1 chargeCard', 'before 2 sendEmail']);
      for (const p of report.points) {
        expect(p.ranTwice).toEqual(p.when === 'before' ? [`step ${p.functionID} (${p.name})`] : []);
        // After a crash past step k's record, k + 1 outcomes are replayed; before it, k.
        expect(p.replayed).toBe(p.when === 'after' ? p.functionID + 1 : p.functionID);
      }
    });

    it('passes the transaction-step order (buggy.ts\'s random charge id, in a transaction step) at every crash point, before COMMIT and after', async () => {
      const fresh = await freshDatabase(kind);
      const report = await crashTest('examples/order/transaction.ts', 'order', undefined, { ...quiet, db, concurrency: 2, env: { ...process.env, ...fresh.env } });
      expect(failedPoints(report)).toEqual([]);
      expect(report.points.filter((p) => p.transaction).map((p) => `${p.when} ${p.functionID} ${p.name}`)).toEqual(['after 1 chargeCard', 'before 1 chargeCard']);
      const beforeCommit = report.points.find((p) => p.transaction && p.when === 'before')!;
      expect(beforeCommit.ranTwice).toEqual(['step 1 (chargeCard)']); // it ran again, and the check found one charge: the first was rolled back
      expect(formatPoint(beforeCommit)).toMatch(/crash inside the transaction, before COMMIT, of transaction step 1 \(chargeCard\)/);
    }, 240_000);
  });
}

describe('sqlite: what the harness compares', () => {
  it('names a result that differs from the reference run (a workflow that counts its own step runs)', async () => {
    const file = tempModule(`
      import { DBOS } from 'LIB';
      let runHere = 0; // process-local state: a recovered run returns another count
      const a = DBOS.registerStep(async function a() { runHere++; });
      const b = DBOS.registerStep(async function b() { runHere++; });
      export const counted = DBOS.registerWorkflow(async function counted() { await a(); await b(); return runHere; });
    `);
    const report = await crashTest(file, 'counted', [], { ...quiet, when: ['after'], throwOnFailure: false });
    expect(report.reference.output).toBe('2');
    // After step 0's recording, the recovered run replays a and runs b here: 1. After step 1's
    // recording nothing runs again: the last step's outcome is written in one commit with the
    // workflow's end (docs/DESIGN.md, promise 15), so the recovery finds it ended with 2.
    expect(failedPoints(report)).toEqual(['after 0 a']);
    expect(report.points[0].problems).toEqual(['the result differs: SUCCESS with 1, the reference run ended SUCCESS with 2']);
    expect(report.points[1].problems).toEqual([]);
  });

  it('catches the duplicate charge without a check, by comparing table row counts', async () => {
    const file = tempModule(`export { order, crashTestArgs } from '${join(PROJECT_ROOT, 'examples/order/buggy.ts')}';`);
    const report = await crashTest(file, 'order', undefined, { ...quiet, when: ['before'], tables: ['charges', 'emails'], throwOnFailure: false });
    expect(failedPoints(report)).toEqual(['before 1 chargeCard']);
    expect(report.points[1].problems).toEqual(['table charges has 2 rows, the reference run left 1']);
  });

  it('judges a recorded step that ran again on recovery as a failure (promise 2)', () => {
    const run = (events: ChildRun['events'], signal: NodeJS.Signals | null = null): ChildRun => ({ code: signal ? null : 0, signal, events, output: '', timedOut: false });
    const ops = [{ functionID: 0, name: 'a', childWorkflowID: null, error: null }];
    const recorded = { w: { name: 'wf', status: 'SUCCESS', ops } };
    const ref = { outcome: { status: 'SUCCESS', output: '1', error: null }, recorded, tableCounts: {} };
    const point = { workflowID: 'w', functionID: 0, name: 'a', when: 'after' as const };
    const crashed = run([{ event: 'step', workflowID: 'w', functionID: 0, name: 'a', attempt: 1 }, { event: 'crashing', ...point }], 'SIGABRT');
    const recovered = run([
      { event: 'recorded-at-death', state: { w: { name: 'wf', status: 'PENDING', ops } } },
      { event: 'step', workflowID: 'w', functionID: 0, name: 'a', attempt: 1 },
      { event: 'outcome', outcome: ref.outcome }, { event: 'check', problems: [], tableCounts: {} }, { event: 'recorded', state: recorded },
    ]);
    expect(judge(ref, 'w', point, crashed, recovered).problems).toEqual(['step 0 (a) ran again on recovery although its outcome was recorded before the death']);
  });

  it('judges a crash point the run never reached as a workflow that took another path', () => {
    const ref = { outcome: { status: 'SUCCESS', output: '1', error: null }, recorded: {}, tableCounts: {} };
    const finished: ChildRun = { code: 0, signal: null, events: [], output: 'took the other branch', timedOut: false };
    const [problem] = judge(ref, 'w', { workflowID: 'w', functionID: 3, name: 'a', when: 'before' }, finished, undefined).problems;
    expect(problem).toMatch(/^the crash point was never reached \(it exited with code 0\).*Is the code between steps deterministic\?\n +\| took the other branch$/s);
  });
});

describe('sqlite: npm run crash-test', () => {
  it('exits 1 on the buggy order and names the crash point, the step and what differed', async () => {
    // TMPDIR: the databases it keeps for a look land in a temporary directory of this test.
    const r = await runScript('scripts/crash-test.ts', { TMPDIR: tempDir() }, { args: ['examples/order/buggy.ts', 'order', '--when', 'before', '--jobs', '2'] });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL crash before recording step 1 \(chargeCard\)/);
    expect(r.stderr).toMatch(/1 of 3 crash points failed\n {2}crash before recording step 1 \(chargeCard\) of workflow crash-test .*:\n {4}- check: order order-1 was charged 2 times/);
  });

  it('exits 2 with the fix for an unknown export, missing arguments and bad JSON', async () => {
    const noExport = await runScript('scripts/crash-test.ts', {}, { args: ['examples/order/fixed.ts', 'nosuch'] });
    expect(noExport.code).toBe(2);
    expect(noExport.stderr).toMatch(/has no export named "nosuch"\. Workflow exports of .*fixed\.ts: order\./);
    const noArgs = await runScript('scripts/crash-test.ts', {}, { args: [] });
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/give the workflow's module/);
    const badJson = await runScript('scripts/crash-test.ts', {}, { args: ['examples/order/fixed.ts', '--args', '[oops'] });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--args is not JSON/);
  });
});
