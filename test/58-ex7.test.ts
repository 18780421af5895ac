// ex7, run as the reader runs it, on both databases: a client enqueues 100 jobs, three worker
// processes run them under workerConcurrency 2 / globalConcurrency 4, one is SIGKILLed mid-run (seed 1:
// w2, once 34 jobs are done) and restarted. The lesson's claims, checked from its RESULT line and
// from the database: 100 SUCCESS, each exactly once, 1,000 users, never more than 4 jobs at once
// (2 per worker), the killed worker's jobs finished by another, their recorded steps not run again.
// Then the three-terminal way (--reset --enqueue, --worker, --report) and what `wf queues` says
// about a workflow name no worker registered.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DBOSClient } from '../lib/index.js';
import { DATABASES, freshDatabase, marked, queryDatabase, runScript } from './helpers.js';

const EX7 = 'experiments/ex7.ts';
interface Ex7Result {
  jobs: number; success: number; exactlyOnce: boolean; users: number; maxInFlight: number; limitsHeld: boolean; seed: number;
  perWorker: Record<string, { jobs: number; cutShort: number; maxInFlight: number }>;
  takenOver: { page: number; from: string; to: string }[];
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

for (const kind of DATABASES) {
  describe(`${kind}: ex7`, () => {
    it('100 jobs through three workers, one SIGKILLed and restarted: each done once, the limits held', async () => {
      const { choice, env } = await freshDatabase(kind);
      const r = await runScript(EX7, env, { timeoutMs: 420_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('the seed picks: SIGKILL worker w2 once 34 jobs are done');
      expect(r.stdout).toMatch(/^KILLED: w2 \(pid \d+\)/m);
      expect(r.stdout).toMatch(/^RESTARTED: w2 as w2-restarted/m);
      const res = marked<Ex7Result>(r, 'RESULT');
      expect(res).toMatchObject({ jobs: 100, success: 100, exactlyOnce: true, users: 1000, limitsHeld: true, seed: 1 });
      expect(res.maxInFlight).toBe(4);
      for (const w of Object.values(res.perWorker)) expect(w.maxInFlight).toBeLessThanOrEqual(2);
      expect(res.perWorker.w2.cutShort).toBeGreaterThan(0);
      expect(res.takenOver.length).toBe(res.perWorker.w2.cutShort);
      for (const t of res.takenOver) expect(t.to).not.toMatch(/^w2$|none/);
      // From the database: a taken-over job ran twice (its second execution finished it), recorded
      // each step once, and a step recorded by the killed execution kept its first record.
      const S = kind === 'postgres' ? 'dbos.' : '';
      for (const t of res.takenOver) {
        const [wf] = await queryDatabase(choice, 'ex7', `SELECT recovery_attempts AS n FROM ${S}workflow_status WHERE workflow_uuid = ?`, [`ex7-page-${t.page}`]);
        expect(wf.n).toBeGreaterThanOrEqual(2);
        const steps = await queryDatabase(choice, 'ex7', `SELECT function_id, execution_attempt FROM ${S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id`, [`ex7-page-${t.page}`]);
        expect(steps.map((s) => s.function_id)).toEqual([0, 1]);
      }
      const [{ n }] = await queryDatabase(choice, 'ex7', `SELECT COUNT(*) AS n FROM ${S}workflow_status WHERE status IN ('ENQUEUED', 'PENDING')`);
      expect(n).toBe(0);
    }, 480_000);

    it('by hand: --enqueue twice enqueues once, --worker runs them, wf queues names a workflow no worker registered', async () => {
      const { choice, env } = await freshDatabase(kind);
      for (let i = 0; i < 2; i++) expect((await runScript(EX7, env, { args: ['--reset', '--enqueue', '10'].slice(i) })).code).toBe(0);
      const client = await DBOSClient.create({ database: choice, applicationName: 'ex7' });
      try {
        const stray = await client.enqueue({ queueName: 'ex7_pages', workflowName: 'noSuchJob', workflowID: 'stray-1' }, 1);
        let ready: () => void;
        const up = new Promise<void>((r) => (ready = r));
        const worker = runScript(EX7, env, { args: ['--worker', '--name', 'solo'], timeoutMs: 400_000, onLine: (l, c) => {
          if (l.startsWith('WORKER READY')) (children.push(c), ready());
        } });
        await up;
        for (let p = 1; p <= 10; p++) expect(await client.retrieveWorkflow(`ex7-page-${p}`).getResult()).toBe(10);
        const q = await runScript('scripts/wf.ts', env, { args: ['queues', '--app', 'ex7'] });
        expect(q.code, q.stderr).toBe(0);
        expect(q.stdout).toMatch(/WAITING: 1 ENQUEUED workflow\(s\) named "noSuchJob" on queue ex7_pages: no live worker registers "noSuchJob" \(live workers register: pageJob\)/);
        expect((await stray.getStatus())?.status).toBe('ENQUEUED'); // it waits; nothing lost
        children[0].kill('SIGTERM');
        expect((await worker).code).toBe(0);
        const rep = await runScript(EX7, env, { args: ['--report'] });
        expect(marked<Ex7Result>(rep, 'RESULT')).toMatchObject({ jobs: 10, success: 10, exactlyOnce: true, users: 100 });
        const list = await runScript('scripts/wf.ts', env, { args: ['list', '--queue', 'ex7_pages', '--app', 'ex7'] });
        expect(list.stdout).toMatch(/stray-1 .*noSuchJob .*ENQUEUED/);
      } finally {
        await client.destroy();
      }
    }, 480_000);
  });
}
