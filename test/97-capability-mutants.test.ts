// Tests written to kill mutants of mutants/capabilities.ts that the other tests let live:
//  1. workerConcurrency counts what the executor already runs: an executor that claims again gets
//     only its free slots (the six-connection race of test/63 gives each connection its own executor,
//     so a cap that forgot the executor's running workflows passed it). Both databases.
//     Deduplication, through DBOSClient (nothing runs, so a broken refusal fails fast instead of
//     leaving a gated workflow waiting): refused while the holder waits and while it runs.
//     Messages: each consumed once (two recvs on one topic get two messages, not the first twice).
//     PostgreSQL: a transaction step's fence holds the workflow row until COMMIT (FOR SHARE): another
//     process's claim between the recorded outcome and COMMIT waits (here: times out), never slips in.
//  2. Redaction on every output: each log line and each error message is masked by the logger and the
//     error base class themselves (not only where a URL is known to pass), a password the process was
//     told of included; and every wf command run against a password-bearing DATABASE_URL prints it
//     masked, never the password (real processes).
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError, WorkbookError } from '../lib/errors.js';
import { DBOS, DBOSClient, hooks } from '../lib/index.js';
import { log } from '../lib/log.js';
import { MASK, rememberSecret } from '../lib/redact.js';
import { deserialize } from '../lib/serialize.js';
import { openDatabase, type OpenedDatabase } from '../lib/storage/open.js';
import { closedPort, DATABASES, freshDatabase, runScript } from './helpers.js';

// Two recvs on one topic, then a third that finds nothing within a moment.
const receiver = DBOS.registerWorkflow(async function receiver() {
  const got = [await DBOS.recv<string>('topic', 30), await DBOS.recv<string>('topic', 30)];
  return [...got, await DBOS.recv<string>('topic', 0.3)];
}, { name: 'receiver' });

const inserter = DBOS.registerWorkflow(async function inserter() {
  return DBOS.runTransaction(async (tx) => (await tx.query('INSERT INTO items97 (i) VALUES (?)', [1]), 'committed'), { name: 'insert97' });
}, { name: 'inserter' });

/** A claim of the workflow's row (argv: url, workflow id) that gives up after 1 s of waiting for a lock. */
const CLAIM_FROM_ANOTHER_PROCESS = `
const pg = require('pg');
const c = new pg.Client({ connectionString: process.argv[1] });
c.connect()
  .then(() => c.query("SET lock_timeout = '1s'"))
  .then(() => c.query("UPDATE dbos.workflow_status SET executor_id = 'another', recovery_attempts = recovery_attempts + 1 WHERE workflow_uuid = $1 AND status = 'PENDING'", [process.argv[2]]))
  .then((r) => console.log('CLAIMED ' + r.rowCount), (e) => console.log('BLOCKED ' + e.code))
  .finally(() => c.end());`;

const opened: OpenedDatabase[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await DBOS.shutdown();
  for (const o of opened.splice(0)) await o.db.close().then(o.release);
});

for (const kind of DATABASES) {
  describe(`${kind}: messages`, () => {
    it('each message is consumed once: two recvs get the two messages in the order sent, a third gets none', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'm97', database: choice, recoveryIntervalMs: 0 });
      await DBOS.launch();
      const h = await DBOS.startWorkflow(receiver, { workflowID: 'inbox-1' })();
      await DBOS.send('inbox-1', 'first', 'topic');
      await DBOS.send('inbox-1', 'second', 'topic');
      expect(await h.getResult()).toEqual(['first', 'second', null]);
      const S = DBOS.appDatabase.schemaPrefix;
      const rows = await DBOS.appDatabase.query<{ message: string; consumed: unknown }>(`SELECT message, consumed FROM ${S}notifications ORDER BY created_at_epoch_ms, message_uuid`);
      expect(rows.map((r) => [deserialize(r.message), r.consumed === true || Number(r.consumed) === 1])).toEqual([['first', true], ['second', true]]);
    });
  });

  describe(`${kind}: queue claims`, () => {
    it('workerConcurrency: an executor that claims again gets only its free slots; another executor the rest', async () => {
      const { choice } = await freshDatabase(kind);
      const o = await openDatabase(choice, 'q97', 'claim');
      opened.push(o);
      for (let j = 0; j < 10; j++) {
        await o.db.enqueueWorkflow({ workflowID: `w${j}`, name: 'job', inputs: '[]', applicationID: 'q97', applicationVersion: '1',
          queueName: 'wc', deduplicationID: null, priority: 0, now: Date.now() + j });
      }
      const claim = (executorID: string) => o.db.claimQueued({
        queueName: 'wc', executorID, applicationID: 'q97', applicationVersion: '1', workflowNames: ['job'], globalConcurrency: 8, workerConcurrency: 3, now: Date.now(),
      });
      expect((await claim('ex-a')).map((c) => c.workflowID)).toEqual(['w0', 'w1', 'w2']);
      expect(await claim('ex-a')).toEqual([]); // its 3 slots are taken: nothing more, though 5 of 8 are free
      expect((await claim('ex-b')).map((c) => c.workflowID)).toEqual(['w3', 'w4', 'w5']);
      expect((await claim('ex-c')).map((c) => c.workflowID)).toEqual(['w6', 'w7']); // the global cap: 8
      // One of ex-a's ends: it may take one more, and only one.
      await o.db.app.exec(`UPDATE ${o.db.app.schemaPrefix}workflow_status SET status = 'SUCCESS' WHERE workflow_uuid = 'w0'`);
      expect((await claim('ex-a')).map((c) => c.workflowID)).toEqual(['w8']);
      expect(await claim('ex-a')).toEqual([]);
    });

    it('deduplication: refused while the holder waits (ENQUEUED) and while it runs (PENDING), free once it ends', async () => {
      const { choice } = await freshDatabase(kind);
      const client = await DBOSClient.create({ database: choice, applicationName: 'q97' });
      const o = await openDatabase(choice, 'q97', 'dedup');
      opened.push(o);
      try {
        const enqueue = (workflowID: string) => client.enqueue({ queueName: 'dd', workflowName: 'job', workflowID, deduplicationID: 'user-7' });
        await enqueue('first');
        await expect(enqueue('second')).rejects.toMatchObject({ name: 'DBOSQueueDuplicatedError', dbosErrorCode: 28, holderID: 'first' });
        const got = await o.db.claimQueued({ queueName: 'dd', executorID: 'ex-a', applicationID: 'q97', applicationVersion: '1', workflowNames: ['job'], now: Date.now() });
        expect(got.map((c) => c.workflowID)).toEqual(['first']); // now PENDING: still the holder
        await expect(enqueue('third')).rejects.toMatchObject({ dbosErrorCode: 28, holderID: 'first' });
        await o.db.app.exec(`UPDATE ${o.db.app.schemaPrefix}workflow_status SET status = 'SUCCESS' WHERE workflow_uuid = 'first'`);
        await enqueue('fourth');
        expect((await o.db.getWorkflow('fourth'))?.status).toBe('ENQUEUED');
        for (const id of ['second', 'third']) expect(await o.db.getWorkflow(id)).toBeUndefined(); // refused: nothing written
      } finally {
        await client.destroy();
      }
    });
  });
}

describe.skipIf(!DATABASES.includes('postgres'))('PostgreSQL: the transaction fence holds the row until COMMIT', () => {
  it('a takeover tried between the recorded outcome and COMMIT waits for the COMMIT (here it gives up after 1 s of waiting); the outcome commits once', async () => {
    const { choice } = await freshDatabase('postgres');
    const url = (choice as { url: string }).url;
    DBOS.setConfig({ name: 'tx97', database: choice, recoveryIntervalMs: 0 });
    await DBOS.launch();
    await DBOS.appDatabase.exec('CREATE TABLE IF NOT EXISTS items97 (i INTEGER NOT NULL)');
    // Another process claims the workflow while this one is inside the transaction, after the fence
    // and the outcome, before COMMIT (the hook is synchronous: this process waits for the other).
    const claims: string[] = [];
    hooks.beforeRecord = (workflowID, _fid, name) => {
      if (name !== 'insert97') return;
      claims.push(execFileSync(process.execPath, ['-e', CLAIM_FROM_ANOTHER_PROCESS, url, workflowID], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 }).trim());
    };
    try {
      const h = await DBOS.startWorkflow(inserter, { workflowID: 'tx-lock-1' })();
      expect(await h.getResult()).toBe('committed');
    } finally {
      hooks.beforeRecord = undefined;
    }
    expect(claims).toEqual(['BLOCKED 55P03']); // the row was held: the claim could not slip in before COMMIT
    expect(await DBOS.getWorkflowStatus('tx-lock-1')).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    expect(Number((await DBOS.appDatabase.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM items97'))[0].n)).toBe(1);
  }, 60_000);
});

describe('redaction on every output', () => {
  it('every log line and every error message is masked by the logger and the error class themselves', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    const prev = process.env.WORKBOOK_LOG;
    process.env.WORKBOOK_LOG = 'debug';
    try {
      for (const write of [log.debug, log.info, log.warn]) write('connecting to postgres://alice:L0gSecret9@db.example.com/app failed');
    } finally {
      process.env.WORKBOOK_LOG = prev;
      vi.restoreAllMocks();
    }
    expect(written).toHaveLength(3);
    for (const line of written) {
      expect(line).not.toContain('L0gSecret9');
      expect(line).toContain(`postgres://alice:${MASK}@db.example.com/app`);
    }
    // An error built from raw text: the base class masks it.
    const raw = new WorkbookError('X', 'cannot reach postgres://bob:Err0rSecret@h:5432/d; try again');
    expect(raw.message).toBe(`cannot reach postgres://bob:${MASK}@h:5432/d; try again`);
    // A password this process was told of, quoted bare by a driver: masked in errors and in the log.
    rememberSecret('postgres://carol:Rem3mberedPw@h/d');
    expect(new ConfigError('the driver said: bad password "Rem3mberedPw"').message).toBe(`the driver said: bad password "${MASK}"`);
    const later: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (later.push(String(chunk)), true));
    log.warn('retrying with Rem3mberedPw');
    vi.restoreAllMocks();
    expect(later).toEqual([`[warn] retrying with ${MASK}\n`]);
  });

  it('every wf command against a password-bearing DATABASE_URL prints it masked, never the password (real processes)', async () => {
    const url = `postgres://alice:Sup3rSecretPw@127.0.0.1:${await closedPort()}/db`;
    const env = { DATABASE_URL: url, WORKBOOK_DB_RETRY_MS: '0', WORKBOOK_DB: undefined, WORKBOOK_LOG: 'debug' };
    const commands = [['list'], ['get', 'nope'], ['schedules', 'list']];
    const runs = await Promise.all(commands.map((args) => runScript('scripts/wf.ts', env, { args, timeoutMs: 60_000 })));
    for (const [i, r] of runs.entries()) {
      const out = r.stdout + r.stderr;
      expect(r.code, `wf ${commands[i].join(' ')}: ${out}`).not.toBe(0); // the server is down: each says so
      expect(out, `wf ${commands[i].join(' ')}`).toContain(`postgres://alice:${MASK}@127.0.0.1:`);
      expect(out, `wf ${commands[i].join(' ')}`).not.toContain('Sup3rSecretPw');
    }
  }, 90_000);
});
