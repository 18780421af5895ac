// Promise 12, time and events, with real processes (test/fixtures/time-worker.ts):
//  - a workflow SIGKILLed in the middle of DBOS.sleep and recovered wakes at its recorded time:
//    it waits only the remainder, and not at all once the wake-up time has passed;
//  - an event set by a workflow is seen by DBOS.getEvent in another process, and a setEvent that
//    was recorded is not written again by the execution that recovers the workflow.
import { deserialize } from '../lib/serialize.js';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, marked, runScript } from './helpers.js';

const WORKER = 'test/fixtures/time-worker.ts';

/** Starts the worker; kills it (SIGKILL) at the first line starting with `marker`, whose rest it returns. */
async function killAt(env: Record<string, string>, marker: string): Promise<string> {
  let seen: string | undefined;
  const r = await runScript(WORKER, env, {
    onLine: (line, child) => {
      if (seen === undefined && line.startsWith(marker)) (seen = line.slice(marker.length).trim()), child.kill('SIGKILL');
    },
  });
  expect(r.signal, r.stderr).toBe('SIGKILL');
  return seen!;
}

for (const kind of DATABASES) {
  describe(`${kind}: durable sleep and events`, () => {
    for (const when of ['mid-sleep', 'after the wake-up time'] as const) {
      it(`a sleep recovered ${when} wakes at its recorded time`, async () => {
        const { env, choice } = await freshDatabase(kind);
        const SLEEP_MS = 6000;
        const base = { ...env, WORKFLOW_ID: 'sleeper-1', SLEEP_MS: String(SLEEP_MS) };
        const wake = Number(await killAt({ ...base, MODE: 'sleep-start' }, 'SLEEPING:'));
        if (when === 'after the wake-up time') while (Date.now() < wake + 200) await new Promise((r) => setTimeout(r, 100));
        const rec = await runScript(WORKER, { ...base, MODE: 'recover' });
        expect(rec.code, rec.stderr).toBe(0);
        const launched = marked<number>(rec, 'LAUNCHED');
        const { after } = marked<{ after: number }>(rec, 'RESULT');
        expect(after).toBeGreaterThanOrEqual(wake); // never wakes early
        // The recovered run did not start a new sleep of SLEEP_MS: it waited what was left, or nothing.
        expect(after - launched).toBeLessThan(SLEEP_MS);
        // Launched before the wake-up time, it woke on time (a loaded machine may start it later:
        // then it is the other case, checked above).
        if (when === 'mid-sleep' && launched < wake) expect(after - wake).toBeLessThan(1000);
        const ops = await withDatabase(choice, 'timew', 't64', (db) => db.loadOperations('sleeper-1'));
        expect(ops.filter((o) => o.functionName === 'DBOS.sleep').map((o) => [Number(deserialize(o.output)), o.executionAttempt])).toEqual([[wake, 1]]);
      });
    }

    it('an event set by a workflow is seen from another process, and set once across a crash', async () => {
      const { env, choice } = await freshDatabase(kind);
      const base = { ...env, WORKFLOW_ID: 'publisher-1' };
      // The reader waits in its own process (another application, so it recovers nothing).
      let readerReady!: () => void;
      const ready = new Promise<void>((r) => (readerReady = r));
      const reader = runScript(WORKER, { ...base, APP: 'reader', MODE: 'event-get' }, { onLine: (l) => l === 'WAITING' && readerReady() });
      await ready;
      await killAt({ ...base, MODE: 'event-set' }, 'EVENT_SET');
      const got = marked<{ n: number; pid: number }>(await reader, 'GOT');
      expect(got.n).toBe(1);
      const rec = await runScript(WORKER, { ...base, MODE: 'recover' });
      expect(rec.code, rec.stderr).toBe(0);
      expect(marked(rec, 'RESULT')).toBe('published');
      await withDatabase(choice, 'timew', 't64', async (db) => {
        expect((await db.getWorkflow('publisher-1'))?.recoveryAttempts).toBe(2);
        const sets = (await db.loadOperations('publisher-1')).filter((o) => o.functionName === 'DBOS.setEvent');
        // The first setEvent was recorded by the first execution only; the second by the recovery.
        expect(sets.map((o) => o.executionAttempt)).toEqual([1, 2]);
        const rows = await db.app.query<{ value: string }>(`SELECT value FROM ${db.app.schemaPrefix}workflow_events WHERE workflow_uuid = ?`, ['publisher-1']);
        expect(rows.map((r) => deserialize<{ n: number }>(r.value)!.n)).toEqual([2]);
      });
    });
  });
}
