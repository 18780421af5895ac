// ex8, run as a user runs it: real worker processes of different application versions, a real
// seeded process.abort(), an edited workflow started again. Its claims, each held against the database.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, resultOf, runScript, type RunResult } from './helpers.js';

interface Result {
  mismatch: { order: string; clientVersion: string; workerVersion: string; statusAfterWait: string; wfSaidStranded: boolean; pinnedWorkerVersion: string; statusAfterPin: string; shipRuns: number };
  deploy: {
    crashExit: string | number; crashedVersion: string; editedVersion: string; versionsDiffer: boolean; leftAloneAtLaunch: boolean;
    strandedStatus: string; strandedSteps: string[]; wfSaidStranded: boolean;
    moved: { status: string; steps: string[] };
    pinnedAppend: { status: string; steps: string[] };
    pinnedRename: { status: string; steps: string[]; error: string | null };
  };
}

for (const kind of DATABASES) {
  describe(`${kind}: ex8, application versions`, () => {
    let run: RunResult;
    let res: Result;
    let choice: DatabaseChoice;

    beforeAll(async () => {
      const fresh = await freshDatabase(kind);
      choice = fresh.choice;
      run = await runScript('experiments/ex8.ts', { ...fresh.env, EX8_WAIT_MS: '1500' }, { timeoutMs: 170_000 });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      res = resultOf(run) as Result;
    }, 180_000);

    const row = (id: string) => withDatabase(choice, 'ex8', 'test-58-ex8', (db) => db.getWorkflow(id));

    it('part 1: a worker of another version leaves the enqueued order alone, wf versions calls it STRANDED, the shared version runs it once', async () => {
      const m = res.mismatch;
      expect(m.workerVersion).toMatch(/^[0-9a-f]{32}$/); // the default: a hash of the worker's code
      expect([m.statusAfterWait, m.wfSaidStranded]).toEqual(['ENQUEUED', true]);
      expect([m.pinnedWorkerVersion, m.statusAfterPin, m.shipRuns]).toEqual([m.clientVersion, 'SUCCESS', 1]);
      const r = await row(m.order);
      expect([r?.status, r?.applicationVersion]).toEqual(['SUCCESS', m.clientVersion]);
    });

    it('part 2: the edited code has another default version, and recovery leaves the crashed workflow PENDING until it is moved', async () => {
      const d = res.deploy;
      expect(d.crashExit).toBe('SIGABRT');
      expect(run.stdout).toMatch(/\[fault\] CRASHING at crash-in-ship seed=1/);
      expect(d.versionsDiffer).toBe(true);
      expect([d.leftAloneAtLaunch, d.strandedStatus, d.strandedSteps, d.wfSaidStranded]).toEqual([true, 'PENDING', ['reserve', 'charge'], true]);
      expect(d.moved).toEqual({ status: 'SUCCESS', steps: ['reserve', 'charge', 'ship', 'sendReceipt'] });
    });

    it('part 2, pinned: recovery resumes at once; an added step at the end replays, a renamed step in the middle is the determinism error', async () => {
      const d = res.deploy;
      expect([d.pinnedAppend.status, d.pinnedAppend.steps]).toEqual(['SUCCESS', ['reserve', 'charge', 'ship', 'sendReceipt']]);
      expect(d.pinnedRename.status).toBe('ERROR');
      expect(d.pinnedRename.steps).toEqual(['reserve', 'charge']);
      expect(d.pinnedRename.error).toMatch(/UnexpectedStepError.*step 1, function charge was recorded when chargePayment was expected/);
    });
  });
}
