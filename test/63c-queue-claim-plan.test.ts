// A queue's claim reads what runs, what started in the rate limit's period and the head of the
// queue, through an index range each: never every row the queue ever had. On SQLite, which plans
// without statistics, the claim once counted its slots over every row of the queue (finished ones
// included), and its UPDATE walked every ENQUEUED row of every queue: a claim after 20,000
// finished workflows took 22x one on a new queue (measured in issue 20's note). This checks the
// plans each database makes for the claim, with 3,000 finished rows and a few queued ones.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../lib/storage/open.js';
import type { SystemDatabase } from '../lib/storage/types.js';
import { DATABASES, freshDatabase } from './helpers.js';

let opened: { db: SystemDatabase; release(): Promise<void> } | undefined;
afterEach(async () => {
  await opened?.db.close();
  await opened?.release();
  opened = undefined;
});

for (const kind of DATABASES) {
  describe(`${kind}: a queue's claim`, () => {
    it('reads through index ranges (never the whole queue) and updates its rows by their key', async () => {
      const { choice } = await freshDatabase(kind);
      opened = await openDatabase(choice, 'claimplan', 'workbook-test');
      const { db } = opened;
      const S = kind === 'postgres' ? 'dbos.' : '';
      await db.app.exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000)
        INSERT INTO ${S}workflow_status (workflow_uuid, status, name, queue_name, executor_id, application_id, recovery_attempts, started_at_epoch_ms, created_at, updated_at)
        SELECT 'done-' || n, 'SUCCESS', 'job', 'q', 'gone', 'claimplan', 1, n, n, n FROM g`);
      for (let i = 0; i < 5; i++) {
        await db.enqueueWorkflow({ workflowID: `queued-${i}`, name: 'job', inputs: null, applicationID: 'claimplan', applicationVersion: null, queueName: 'q', deduplicationID: null, priority: 0, now: 10_000 + i });
      }
      if (kind === 'postgres') await db.app.exec(`ANALYZE ${S}workflow_status`);

      // The claim's statement as the worker sends it (the storage layer keeps it private).
      const sql = (db as unknown as { qq: { claim(names: number): string } }).qq.claim(1);
      const now = 20_000;
      const params = ['me', 'q', 'q', now - 1000, 2, 4, 100, 'q', 'claimplan', 'v1', 'job', 'me', 'claimplan', 'v1', now, now];
      const plan = kind === 'postgres'
        ? (await db.app.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).map((r) => r['QUERY PLAN'])
        : (await db.app.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
      const text = plan.join('\n');

      if (kind === 'postgres') {
        expect(text).not.toMatch(/Seq Scan on workflow_status/);
        // Every condition on a queue index bounds more than the queue's name.
        const conds = plan.filter((l) => /Index Cond: \(\(queue_name = /.test(l));
        expect(conds.length).toBeGreaterThanOrEqual(3);
        for (const c of conds) expect(c).toMatch(/AND \((status = |started_at_epoch_ms > )/);
        expect(text).toMatch(/Index Scan using workflow_status_pkey on workflow_status\s/);
      } else {
        expect(text).not.toMatch(/^SCAN workflow_status\b/m);
        const searches = plan.filter((l) => /^SEARCH workflow_status USING/.test(l));
        expect(searches.length).toBeGreaterThanOrEqual(4);
        // The UPDATE finds the picked rows by their key, not by walking every ENQUEUED row (status index).
        expect(searches[0]).toMatch(/sqlite_autoindex_workflow_status_1 \(workflow_uuid=\?\)/);
        for (const s of searches.slice(1)) expect(s).toMatch(/\(queue_name=\? AND (status=\?|started_at_epoch_ms>\?)\)/);
      }

      // And it still takes the head of the queue.
      const got = await db.claimQueued({ queueName: 'q', executorID: 'me', applicationID: 'claimplan', applicationVersion: 'v1', workflowNames: ['job'], workerConcurrency: 2, now: Date.now() });
      expect(got.map((g) => g.workflowID).sort()).toEqual(['queued-0', 'queued-1']);
    });
  });
}
