// Promise 12, messages, with real processes (test/fixtures/time-worker.ts): a message is consumed
// exactly once
//  - when the process crashes between recv and the next step (the recovery replays the recorded
//    message), and a send retried with the same idempotency key delivers once;
//  - when two processes run the same waiting workflow at once (the old owner stopped, a new one
//    took it over, then both wake): only the owner's consume commits (DBOS ts#1205 was this race);
//  - and, in storage, a consume fenced by an execution that lost the workflow changes nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { deserialize } from '../lib/serialize.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, marked, runScript, type RunResult } from './helpers.js';

const WORKER = 'test/fixtures/time-worker.ts';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts the worker; `at` resolves with its process at the first line equal to `marker`. */
function start(env: Record<string, string>, marker: string): { at: Promise<ChildProcess>; done: Promise<RunResult> } {
  let reached!: (c: ChildProcess) => void;
  const at = new Promise<ChildProcess>((r) => (reached = r));
  const done = runScript(WORKER, env, {
    onLine: (line, child) => {
      if (!children.includes(child)) children.push(child);
      if (line === marker) reached(child);
    },
  });
  return { at, done };
}

async function tables(choice: DatabaseChoice, id: string) {
  return withDatabase(choice, 'timew', 't65', async (db) => ({
    messages: await db.app.query<{ consumed: unknown; consumed_by_function_id: unknown }>(
      `SELECT consumed, consumed_by_function_id FROM ${db.app.schemaPrefix}notifications WHERE destination_uuid = ?`, [id]),
    recvs: (await db.loadOperations(id)).filter((o) => o.functionName === 'DBOS.recv'),
  }));
}

const effects = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

for (const kind of DATABASES) {
  describe(`${kind}: messages are consumed once`, () => {
    it('a crash between recv and the next step: the recovery replays the message; a retried send delivers once', async () => {
      const { env, choice } = await freshDatabase(kind);
      const base = { ...env, WORKFLOW_ID: 'waiter-1', EFFECTS_FILE: join(env.WORKBOOK_DATA_DIR, 'effects') };
      const first = start({ ...base, MODE: 'recv-start' }, 'WAITING');
      (await first.at).kill('SIGKILL');
      expect((await first.done).signal).toBe('SIGKILL');
      // Sent twice with one idempotency key, from another application's process.
      const sent = await runScript(WORKER, { ...base, APP: 'sender', MODE: 'send', MESSAGE: 'approved', SENDS: '2', IDEMPOTENCY_KEY: 'k-1' });
      expect(sent.code, sent.stderr).toBe(0);
      const crashed = await runScript(WORKER, { ...base, MODE: 'recover', WORKBOOK_P_CRASH_AFTER_RECV: '1' });
      expect(crashed.signal, crashed.stderr).toBe('SIGABRT');
      const mid = await tables(choice, 'waiter-1');
      expect(mid.messages.length).toBe(1);
      expect(mid.recvs.map((o) => [deserialize(o.output), o.executionAttempt])).toEqual([['approved', 2]]);
      const rec = await runScript(WORKER, { ...base, MODE: 'recover' });
      expect(rec.code, rec.stderr).toBe(0);
      expect(marked<{ message: string }>(rec, 'RESULT').message).toBe('approved');
      const end = await tables(choice, 'waiter-1');
      expect(end.recvs.map((o) => o.executionAttempt)).toEqual([2]);
      expect(end.messages.map((m) => Number(m.consumed))).toEqual([1]);
      expect(effects(base.EFFECTS_FILE)).toEqual([`approved ${marked<{ pid: number }>(rec, 'RESULT').pid}`]);
    });

    it('two processes run the same waiting workflow at once: only its owner consumes the message', async () => {
      const { env, choice } = await freshDatabase(kind);
      const base = { ...env, WORKFLOW_ID: 'waiter-2', EFFECTS_FILE: join(env.WORKBOOK_DATA_DIR, 'effects'), LEASE_MS: '800', RECV_TIMEOUT_S: '300' };
      const old = start({ ...base, MODE: 'recv-start' }, 'WAITING');
      const oldChild = await old.at;
      oldChild.kill('SIGSTOP'); // alive (its pid is), but its heartbeat stops: after the lease it counts as gone
      const taker = start({ ...base, MODE: 'recover', TAKEOVER: '1' }, 'TOOK_OVER');
      await taker.at;
      // Both executions now wait in recv for the same workflow; the message comes, the old one wakes.
      const sent = await runScript(WORKER, { ...base, APP: 'sender', MODE: 'send', MESSAGE: 'yes' });
      expect(sent.code, sent.stderr).toBe(0);
      oldChild.kill('SIGCONT');
      const [t, o] = await Promise.all([taker.done, old.done]);
      expect(t.code, t.stderr).toBe(0);
      expect(o.code, o.stderr).toBe(0);
      const result = marked<{ message: string; pid: number }>(t, 'RESULT');
      expect(result.message).toBe('yes');
      expect(marked(o, 'RESULT')).toEqual(result); // the old owner reads the new owner's outcome
      expect(result.pid).not.toBe(oldChild.pid);
      const end = await tables(choice, 'waiter-2');
      expect(end.messages.map((m) => [Number(m.consumed), Number(m.consumed_by_function_id)])).toEqual([[1, 0]]);
      expect(end.recvs.map((o) => [deserialize(o.output), o.executionAttempt])).toEqual([['yes', 2]]);
      expect(effects(base.EFFECTS_FILE)).toEqual([`yes ${result.pid}`]);
    });

    it('storage: a consume fenced by an execution that lost the workflow changes nothing', async () => {
      const { choice } = await freshDatabase(kind);
      await withDatabase(choice, 'timew', 't65', async (db) => {
        await db.insertWorkflow({ workflowID: 'w', name: 'waiter', inputs: '[]', executorID: 'A', applicationID: 'timew', applicationVersion: '1', parentWorkflowID: null, now: Date.now() });
        await db.send({ messageID: 'm1', destinationID: 'w', topic: 't', message: '"hello"', now: Date.now() });
        expect(await db.claimWorkflow('w', 1, 'B', Date.now())).toBe(2); // B takes the workflow over
        const op = { workflowID: 'w', functionID: 0, functionName: 'DBOS.recv', output: null, error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: 1, completedAtEpochMs: 2 };
        expect(await db.recv(op, 't', { executorID: 'A', attempt: 1 })).toBeNull(); // A's is refused ...
        expect(await db.hasMessage('w', 't')).toBe(true); // ... and consumed nothing
        expect(await db.loadOperations('w')).toEqual([]);
        expect(await db.recv(op, 't', { executorID: 'B', attempt: 2 })).toEqual({ message: '"hello"' });
        expect(await db.hasMessage('w', 't')).toBe(false);
        expect((await db.loadOperations('w')).map((o) => o.output)).toEqual(['"hello"']);
        // A second message waits for the next recv; an event is set once per key, the latest value kept.
        expect(await db.setEvent({ ...op, functionID: 2, functionName: 'DBOS.setEvent' }, 'k', '1', { executorID: 'A', attempt: 1 })).toBe(false);
        expect(await db.getEvent('w', 'k')).toBeUndefined();
        expect(await db.setEvent({ ...op, functionID: 2, functionName: 'DBOS.setEvent' }, 'k', '1', { executorID: 'B', attempt: 2 })).toBe(true);
        expect(await db.getEvent('w', 'k')).toBe('1');
      });
    });
  });
}
