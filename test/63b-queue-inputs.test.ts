// Queued inputs where DBOS keeps them (issue 15), on both databases: an enqueued workflow's inputs
// go to workflow_input in SuperJSON, as a started workflow's (workflow_status.inputs stays NULL);
// a worker runs it with them (a Date stays a Date, a Map a Map, a BigInt a BigInt); the client
// (getWorkflow, a handle's getStatus) and `wf get` show them. An ENQUEUED row written before this
// change, its inputs in workflow_status.inputs, is still claimed with them, and shown.
import { afterEach, describe, expect, it } from 'vitest';
import { DBOS, DBOSClient } from '../lib/index.js';
import { openDatabase, type OpenedDatabase } from '../lib/storage/open.js';
import { wf } from '../scripts/wf.js';
import { DATABASES, freshDatabase } from './helpers.js';

DBOS.registerQueue('q_inputs', { minPollingIntervalMs: 10 });
const echo = DBOS.registerWorkflow(async function echo(when: Date, tags: Map<string, number>, n: bigint) {
  return { year: when.getUTCFullYear(), tags: [...tags.entries()], next: n + 1n };
}, { name: 'echo' });
DBOS.registerWorkflow(async function plain(n: number, s: string) {
  return `${s}${n * 2}`;
}, { name: 'plain' });

const opened: OpenedDatabase[] = [];
afterEach(async () => {
  await DBOS.shutdown();
  for (const o of opened.splice(0)) await o.db.close().then(o.release);
});

async function wfOut(env: Record<string, string>, argv: string[]): Promise<string> {
  const lines: string[] = [];
  const code = await wf(argv, { ...process.env, ...env }, (t) => lines.push(t), (t) => lines.push(t));
  expect(code, lines.join('\n')).toBe(0);
  return lines.join('\n');
}

for (const kind of DATABASES) {
  describe(`${kind}: queued inputs`, () => {
    it('go to workflow_input in SuperJSON, run with their types, show in the client and wf; an older row still runs', async () => {
      const { choice, env } = await freshDatabase(kind);
      const o = await openDatabase(choice, 'q63b', 'raw');
      opened.push(o);
      const S = o.db.app.schemaPrefix;
      const when = new Date('2026-12-01T10:00:00Z');
      const args = [when, new Map([['a', 1]]), 41n] as const;
      const client = await DBOSClient.create({ database: choice, applicationName: 'q63b' });
      try {
        await client.enqueue({ queueName: 'q_inputs', workflowName: 'echo', workflowID: 'by-client' }, ...args);
        // A row as the queue wrote it before: inputs (plain JSON) in workflow_status, none in workflow_input.
        await o.db.app.exec(`INSERT INTO ${S}workflow_status (workflow_uuid, status, name, inputs, application_id, recovery_attempts,
          queue_name, priority, created_at, updated_at) VALUES ('older', 'ENQUEUED', 'plain', '[21,"x"]', 'q63b', 0, 'q_inputs', 0, 1, 1)`);
        const raw = await o.db.app.query<{ workflow_uuid: string; inputs: string | null; serialization: string | null; own: string | null }>(
          `SELECT s.workflow_uuid, s.inputs, s.serialization, i.inputs AS own FROM ${S}workflow_status s
           LEFT JOIN ${S}workflow_input i ON i.workflow_uuid = s.workflow_uuid ORDER BY s.workflow_uuid`);
        expect(raw).toEqual([
          { workflow_uuid: 'by-client', inputs: null, serialization: 'js_superjson', own: expect.stringContaining('"__dbos_serializer":"superjson"') },
          { workflow_uuid: 'older', inputs: '[21,"x"]', serialization: null, own: null },
        ]);
        // Seen before any worker ran them: the client gives the values, wf the text.
        const seen = await client.getWorkflow('by-client');
        expect(seen).toMatchObject({ status: 'ENQUEUED', queueName: 'q_inputs', input: [when, new Map([['a', 1]]), 41n] });
        expect(seen!.input![0]).toBeInstanceOf(Date);
        expect((await client.retrieveWorkflow('older').getStatus())?.input).toEqual([21, 'x']);
        expect(await wfOut(env, ['get', 'by-client', '--app', 'q63b'])).toMatch(/inputs\s+\["2026-12-01T10:00:00\.000Z",\[\["a",1\]\],"41"\]/);
        expect(await wfOut(env, ['get', 'older', '--app', 'q63b'])).toMatch(/inputs\s+\[21,"x"\]/);

        DBOS.setConfig({ name: 'q63b', database: choice });
        await DBOS.launch();
        const started = await DBOS.startWorkflow(echo, { queueName: 'q_inputs', workflowID: 'by-worker' })(...args);
        const want = { year: 2026, tags: [['a', 1]], next: 42n };
        expect(await client.retrieveWorkflow('by-client').getResult()).toEqual(want);
        expect(await started.getResult()).toEqual(want);
        expect(await client.retrieveWorkflow('older').getResult()).toBe('x42');
        const [mine] = await o.db.app.query<{ inputs: string | null; own: string }>(
          `SELECT s.inputs, i.inputs AS own FROM ${S}workflow_status s JOIN ${S}workflow_input i ON i.workflow_uuid = s.workflow_uuid WHERE s.workflow_uuid = 'by-worker'`);
        expect(mine.inputs).toBeNull();
        expect(JSON.parse(mine.own)).toMatchObject({ __dbos_serializer: 'superjson' });
        expect((await DBOS.getWorkflowStatus('older'))?.input).toEqual([21, 'x']);
        expect(await wfOut(env, ['get', 'by-worker', '--app', 'q63b'])).toMatch(/status\s+SUCCESS[\s\S]*inputs\s+\["2026-12-01T10:00:00\.000Z"/);

        // Bad input from a client (issue 15, item 7): a queue no worker serves, a workflow name no
        // worker registered. Both wait ENQUEUED, nothing lost, and `wf queues` names each with the fix.
        await client.enqueue({ queueName: 'q_typo', workflowName: 'echo', workflowID: 'typo-queue' }, ...args);
        await client.enqueue({ queueName: 'q_inputs', workflowName: 'nobodyKnows', workflowID: 'typo-name' }, 1);
        await new Promise((r) => setTimeout(r, 100)); // several polls of the live worker
        const queues = await wfOut(env, ['queues', '--app', 'q63b']);
        expect(queues).toMatch(/WAITING: 1 ENQUEUED workflow\(s\) named "echo" on queue q_typo: no live worker registers "echo" \(no live worker serves this queue\)/);
        expect(queues).toMatch(/WAITING: 1 ENQUEUED workflow\(s\) named "nobodyKnows" on queue q_inputs: no live worker registers "nobodyKnows" \(live workers register: [^)]*\becho\b/);
        expect(queues).toMatch(/start a worker that registers the workflow under that name and the queue q_typo/);
        expect(queues).not.toMatch(/WAITING: .* named "(echo|plain)" on queue q_inputs/);
        for (const id of ['typo-queue', 'typo-name']) expect((await client.getWorkflow(id))?.status).toBe('ENQUEUED');
      } finally {
        await client.destroy();
      }
    }, 60_000);
  });
}
