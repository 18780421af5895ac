// SQLite's group commit (lib/storage/sqlite.ts): writes sent in the same turn share one
// transaction, and each one still stands alone: a fenced write refused in a batch is refused
// alone, a failing statement fails alone, and every caller hears only after the commit.
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { withDatabase } from '../lib/storage/open.js';
import { sqliteCommits } from '../lib/storage/sqlite.js';
import type { OperationRow } from '../lib/storage/types.js';
import { freshDatabase } from './helpers.js';

const echo = DBOS.registerStep(async function echo(i: number) {
  return { i };
});
const oneStep = DBOS.registerWorkflow(async function oneStep(i: number) {
  return (await echo(i)).i * 2;
});

const op = (workflowID: string, functionID: number): OperationRow => ({
  workflowID, functionID, functionName: 'echo', output: '1', error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: 0, completedAtEpochMs: 0,
});

describe('sqlite: group commit', () => {
  it('50 workflows started at once share commits, and each ends with its own result', async () => {
    const { choice } = await freshDatabase('sqlite');
    DBOS.setConfig({ name: 'groupcommit', database: choice });
    await DBOS.launch();
    try {
      const before = { ...sqliteCommits };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => oneStep(i)));
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
      const writes = sqliteCommits.writes - before.writes;
      const commits = sqliteCommits.commits - before.commits;
      expect(writes).toBe(250); // start (row + inputs), step and end (status + output) of each
      expect(commits).toBeLessThanOrEqual(writes / 10);
      const rows = await DBOS.listWorkflows({ workflowName: 'oneStep' });
      expect(rows.map((r) => r.status)).toEqual(Array(50).fill('SUCCESS'));

      // One after the other, start and end are each one commit, as without group commit (a start is
      // the row and its inputs; an end the step's pending outcome, the status and its output, sent together).
      const seq = { ...sqliteCommits };
      for (let i = 0; i < 5; i++) await oneStep(100 + i);
      expect([sqliteCommits.writes - seq.writes, sqliteCommits.commits - seq.commits]).toEqual([25, 10]);
    } finally {
      await DBOS.shutdown();
    }
  });

  it("seen from outside the engine (the WAL file's frames, not the engine's counters): concurrent workflows commit far fewer times", async () => {
    const { choice } = await freshDatabase('sqlite');
    if (choice.kind !== 'sqlite') throw new Error('a SQLite test');
    DBOS.setConfig({ name: 'groupcommit', database: choice });
    await DBOS.launch();
    try {
      // Each commit appends the pages it changed to the WAL as frames (24-byte header + a page); a
      // page changed by many writes of one transaction is written once. Well under the 1,000-page
      // auto-checkpoint, so the file only grows here.
      const [{ page_size: page }] = (await DBOS.appDatabase.query<{ page_size: number }>('PRAGMA page_size'));
      const frames = () => (statSync(`${choice.file}-wal`).size - 32) / (24 + Number(page));
      await oneStep(-1); // the WAL exists, the statements are prepared
      const f0 = frames();
      await Promise.all(Array.from({ length: 30 }, (_, i) => oneStep(1000 + i)));
      const grouped = frames() - f0;
      const f1 = frames();
      for (let i = 0; i < 30; i++) await oneStep(2000 + i);
      const alone = frames() - f1;
      expect(alone).toBeGreaterThanOrEqual(90); // 90 writes, each its own commit: a frame at least each
      expect(grouped * 3).toBeLessThan(alone);
    } finally {
      await DBOS.shutdown();
    }
  });

  it('in one batch, a refused fence and a failing statement touch only their own write', async () => {
    const { choice } = await freshDatabase('sqlite');
    await withDatabase(choice, 'groupcommit', 'group-commit-test', async (db) => {
      const now = Date.now();
      for (const id of ['a', 'b']) {
        await db.insertWorkflow({ workflowID: id, name: 'w', inputs: '[]', executorID: 'me', applicationID: 'groupcommit', applicationVersion: '1', parentWorkflowID: null, now });
      }
      const before = { ...sqliteCommits };
      const fence = { executorID: 'me', attempt: 1 };
      const [stale, good, bad, alsoGood] = await Promise.allSettled([
        db.recordOperation(op('a', 0), { executorID: 'someone-else', attempt: 1 }),
        db.recordOperation(op('a', 1), fence),
        // prepares, then fails when it runs, inside the batch: workflow 'a' exists
        db.app.exec(`INSERT INTO workflow_status (workflow_uuid, status, name, created_at, updated_at) VALUES ('a', 'PENDING', 'w', 0, 0)`),
        db.recordOperation(op('b', 0), fence),
      ]);
      expect([sqliteCommits.writes - before.writes, sqliteCommits.commits - before.commits]).toEqual([4, 1]);
      expect(stale).toEqual({ status: 'fulfilled', value: false });
      expect(good).toEqual({ status: 'fulfilled', value: true });
      expect(bad.status).toBe('rejected');
      expect(String((bad as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed: workflow_status.workflow_uuid/);
      expect(alsoGood).toEqual({ status: 'fulfilled', value: true });
      expect((await db.loadOperations('a')).map((o) => o.functionID)).toEqual([1]);
      expect((await db.loadOperations('b')).map((o) => o.functionID)).toEqual([0]);
    });
  });
});
