// Queues (lib/queues/, docs/DESIGN.md promise 10), on both databases:
//  1. The claim under simultaneous claims: six connections claim the same queue at the same
//     instant, round after round: together they never take more than globalConcurrency.
//  2. Worker processes: four real workers (workerConcurrency 3, globalConcurrency 4) drain 48 jobs;
//     from the jobs' own start and end times, never more than 4 ran at once (nor 3 in one worker),
//     and each job ran once, in one worker.
//  3. Priority then created_at; the rate limit across claims; deduplication (DBOSQueueDuplicatedError,
//     code 28) and the id freed when the workflow ends; the client; bad input, each with its fix.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { DBOS, DBOSClient, DBOSQueueDuplicatedError } from '../lib/index.js';
import { maxInFlightBy } from '../lib/queues/in-flight.js';
import { openDatabase, withDatabase, type OpenedDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, queryDatabase, runScript } from './helpers.js';

// Registered before any launch: a queue can only be registered then.
DBOS.registerQueue('q_order', { workerConcurrency: 1, minPollingIntervalMs: 10 });
DBOS.registerQueue('q_rate', { rateLimit: { limitPerPeriod: 2, periodSec: 0.4 }, minPollingIntervalMs: 10 });
DBOS.registerQueue('q_dedup', { minPollingIntervalMs: 10 });
const order: number[] = [];
const ordered = DBOS.registerWorkflow(async function ordered(n: number) {
  order.push(n);
  return n;
}, { name: 'ordered' });
let release: () => void = () => {};
const gated = DBOS.registerWorkflow(async function gated(n: number) {
  await new Promise<void>((r) => (release = r));
  return n;
}, { name: 'gated' });

const children: ChildProcess[] = [];
const opened: OpenedDatabase[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await DBOS.shutdown();
  for (const o of opened.splice(0)) await o.db.close().then(o.release);
});

async function rowsOf(choice: DatabaseChoice, sql: string, params: unknown[] = []) {
  return queryDatabase(choice, 'q63', sql, params);
}

for (const kind of DATABASES) {
  describe(`${kind}: queues`, () => {
    it('simultaneous claims from six connections never take more than globalConcurrency', async () => {
      const { choice } = await freshDatabase(kind);
      for (let i = 0; i < 6; i++) opened.push(await openDatabase(choice, 'q63', `claim-${i}`));
      const [first] = opened;
      let overshoot = 0;
      for (let round = 0; round < 15; round++) {
        for (let j = 0; j < 10; j++) {
          await first.db.enqueueWorkflow({ workflowID: `r${round}-${j}`, name: 'job', inputs: '[]', applicationID: 'q63', applicationVersion: '1',
            queueName: 'race', deduplicationID: null, priority: 0, now: Date.now() });
        }
        const got = await Promise.all(opened.map((o, i) => o.db.claimQueued({
          queueName: 'race', executorID: `ex-${i}`, applicationID: 'q63', applicationVersion: '1', workflowNames: ['job'], globalConcurrency: 4, workerConcurrency: 3, now: Date.now(),
        })));
        const total = got.reduce((a, g) => a + g.length, 0);
        if (total !== 4) overshoot++;
        expect(got.every((g) => g.length <= 3)).toBe(true);
        // The round's jobs end: their slots free for the next round.
        await first.db.app.exec(`UPDATE ${first.db.app.schemaPrefix}workflow_status SET status = 'SUCCESS' WHERE queue_name = 'race'`);
      }
      expect(overshoot).toBe(0);
    });

    it('four worker processes: at most 4 jobs at once (3 per worker), each job run once, in one worker', async () => {
      const { choice, env } = await freshDatabase(kind);
      // The jobs' own table, before any worker starts: a worker polls from inside launch() (the fixture says why).
      await withDatabase(choice, 'q63', 'test-setup', (db) => db.app.exec('CREATE TABLE IF NOT EXISTS q63_runs (job INTEGER NOT NULL, attempt INTEGER NOT NULL, ' +
        'pid INTEGER NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, PRIMARY KEY (job, attempt))'));
      const client = await DBOSClient.create({ database: choice, applicationName: 'q63' });
      try {
        for (let n = 0; n < 48; n++) await client.enqueue({ queueName: 'q63', workflowName: 'job', workflowID: `job-${n}` }, n);
        const ready: Promise<unknown>[] = [];
        const runs = Array.from({ length: 4 }, () => {
          let ok: () => void;
          ready.push(new Promise<void>((r) => (ok = r)));
          // Jobs of 200 ms: long enough that the 4 slots fill even on a loaded machine.
          return runScript('test/fixtures/queue-worker.ts', { ...env, JOB_MS: '200' }, { timeoutMs: 280_000, onLine: (l, c) => {
            if (l.startsWith('READY')) (children.push(c), ok());
          } });
        });
        await Promise.all(ready);
        const results = await Promise.all(Array.from({ length: 48 }, (_, n) => client.retrieveWorkflow(`job-${n}`).getResult()));
        expect(results).toEqual(Array.from({ length: 48 }, (_, n) => n));
        for (const c of children) c.kill('SIGTERM');
        for (const r of await Promise.all(runs)) expect(r.code, r.stderr).toBe(0);
      } finally {
        await client.destroy();
      }
      const rows = await rowsOf(choice, 'SELECT job, attempt, pid, started_at, ended_at FROM q63_runs');
      expect(rows.length).toBe(48); // one execution per job: nothing ran twice
      expect(new Set(rows.map((r) => r.job)).size).toBe(48);
      const inFlight = maxInFlightBy(rows.map((r) => ({ group: r.pid, start: r.started_at, end: r.ended_at })));
      expect(inFlight.all).toBeLessThanOrEqual(4);
      expect(inFlight.all).toBe(4); // the cap was reached, so the check above means something
      for (const m of inFlight.by.values()) expect(m).toBeLessThanOrEqual(3);
      expect(inFlight.by.size).toBeGreaterThan(1);
      const status = await rowsOf(choice, `SELECT COUNT(*) AS n FROM ${kind === 'postgres' ? 'dbos.' : ''}workflow_status WHERE status = 'SUCCESS' AND recovery_attempts = 1`);
      expect(status[0].n).toBe(48);
    }, 300_000);

    it('dequeues by priority, then by age', async () => {
      const { choice } = await freshDatabase(kind);
      const client = await DBOSClient.create({ database: choice, applicationName: 'q63' });
      const prio = [5, 1, 5, 0, 1, 0];
      for (const [i, p] of prio.entries()) await client.enqueue({ queueName: 'q_order', workflowName: 'ordered', workflowID: `o${i}`, priority: p }, i);
      await client.destroy();
      order.length = 0;
      DBOS.setConfig({ name: 'q63', database: choice });
      await DBOS.launch();
      for (let i = 0; i < prio.length; i++) await DBOS.retrieveWorkflow(`o${i}`).getResult();
      expect(order).toEqual([3, 5, 1, 4, 0, 2]);
    });

    it('the rate limit: at most limitPerPeriod starts in any window of periodSec', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'q63', database: choice });
      await DBOS.launch();
      const hs = [];
      for (let i = 0; i < 6; i++) hs.push(await DBOS.startWorkflow(ordered, { queueName: 'q_rate' })(i));
      for (const h of hs) await h.getResult();
      const starts = (await Promise.all(hs.map(async (h) => (await h.getStatus())!.dequeuedAt!))).sort((a: number, b: number) => a - b);
      for (let i = 2; i < starts.length; i++) expect(starts[i] - starts[i - 2]).toBeGreaterThanOrEqual(400);
    });

    it('deduplication: refused with DBOSQueueDuplicatedError (28) while the first is unfinished, free once it ends', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'q63', database: choice });
      await DBOS.launch();
      const first = await DBOS.startWorkflow(gated, { queueName: 'q_dedup', enqueueOptions: { deduplicationID: 'user-7' } })(1);
      const again = DBOS.startWorkflow(gated, { queueName: 'q_dedup', enqueueOptions: { deduplicationID: 'user-7' } })(2);
      await expect(again).rejects.toBeInstanceOf(DBOSQueueDuplicatedError);
      await expect(again).rejects.toMatchObject({ dbosErrorCode: 28, queue: 'q_dedup', deduplicationID: 'user-7', holderID: first.workflowID });
      // Another queue, or no id: not a duplicate.
      await DBOS.startWorkflow(ordered, { queueName: 'q_order', enqueueOptions: { deduplicationID: 'user-7' } })(3);
      while ((await first.getStatus())?.status !== 'PENDING') await new Promise((r) => setTimeout(r, 10));
      release();
      expect(await first.getResult()).toBe(1);
      const second = await DBOS.startWorkflow(ordered, { queueName: 'q_dedup', enqueueOptions: { deduplicationID: 'user-7' } })(4);
      expect(await second.getResult()).toBe(4);
    });

    it('bad input: each error names the problem and the fix', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'q63', database: choice });
      await DBOS.launch();
      expect(() => DBOS.registerQueue('late', {})).toThrow(/registered after DBOS\.launch\(\).*before DBOS\.launch\(\)/);
      await expect(DBOS.startWorkflow(ordered, { queueName: 'nope' })(1)).rejects.toThrow(/Unknown queue "nope".*known: q_order, q_rate, q_dedup.*DBOS\.registerQueue/);
      await expect(DBOS.startWorkflow(ordered, { queueName: 'q_order', enqueueOptions: { priority: -1 } })(1)).rejects.toMatchObject({ dbosErrorCode: 29 });
      expect(() => DBOS.startWorkflow(ordered, { enqueueOptions: { priority: 1 } })).toThrow(/priority set on a workflow that is not being enqueued: add queueName/);
      expect(await DBOS.listWorkflows({ workflowName: 'ordered' })).toEqual([]); // nothing half-written
    });
  });
}

describe('queue settings', () => {
  it.each([
    [{ workerConcurrency: 0 }, /workerConcurrency must be a whole number >= 1 \(got 0\)/],
    [{ globalConcurrency: -2 }, /globalConcurrency must be a whole number >= 1 \(got -2\)/],
    [{ workerConcurrency: 1.5 }, /workerConcurrency must be a whole number >= 1 \(got 1\.5\)/],
    [{ globalConcurrency: '4' }, /globalConcurrency must be a whole number >= 1 \(got "4"\)/],
    [{ workerConcurrency: 5, globalConcurrency: 4 }, /workerConcurrency \(5\) must be <= globalConcurrency \(4\)/],
    [{ rateLimit: { limitPerPeriod: 0, periodSec: 1 } }, /rateLimit\.limitPerPeriod must be a whole number >= 1/],
    [{ rateLimit: { limitPerPeriod: 3 } }, /rateLimit must give both limitPerPeriod and periodSec/],
    [{ rateLimit: { limitPerPeriod: 3, periodSec: 0 } }, /rateLimit\.periodSec must be a number > 0/],
    [{ concurrency: 3 }, /unknown setting "concurrency"/],
  ])('%j is refused', (params, message) => {
    expect(() => DBOS.registerQueue('bad', params as never)).toThrow(message);
  });
  it('a name registered twice is refused', () => {
    expect(() => DBOS.registerQueue('q_order')).toThrow(/already registered/);
  });
});
