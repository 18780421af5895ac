// Issue 13, findings 1, 2 and 9: faults from outside the process, made for real. The engine's
// PostgreSQL connections are terminated by the server (pg_terminate_backend from an admin
// connection), SQLite's write lock is held by another process past the busy timeout, the disk under
// a SQLite file is full (a 1 MB tmpfs). None of them may decide a workflow's outcome: the engine
// retries its own writes, or stops without an outcome and the workflow runs again later.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DatabaseConnectionError, DBOS } from '../lib/index.js';
import { PROJECT_ROOT } from '../lib/config.js';
import { databaseRetry } from '../lib/storage/transient.js';
import { DATABASES, freshDatabase, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const budget = databaseRetry.budgetMs;
afterEach(async () => {
  await DBOS.shutdown();
  databaseRetry.budgetMs = budget;
});

const runs: Record<string, number> = {};
const count = (k: string) => (runs[k] = (runs[k] ?? 0) + 1);
let fault: () => Promise<void> = async () => {};

const faultStep = DBOS.registerStep(async function faultStep(i: number) {
  if (count(`fault${i}`) === 1) await fault(); // the fault comes once, in the first run of the step
  return i * 10;
});
const plainStep = DBOS.registerStep(async function plainStep(i: number) {
  count(`plain${i}`);
  return i;
});
const faulted = DBOS.registerWorkflow(async function faulted(n: number) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (await faultStep(i)) + (await plainStep(i));
  return sum;
});

describe.skipIf(!DATABASES.includes('postgres'))('PostgreSQL: the server terminates the engine connections', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterAll(() => admin.end());
  const killEngineConnections = async () => {
    const r = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`workbook-${DBOS.executorID}`]);
    return r.rowCount ?? 0;
  };

  it('after every step: each outcome is still recorded once, the workflow ends SUCCESS, no step body runs twice', async () => {
    const { choice } = await freshDatabase('postgres');
    DBOS.setConfig({ name: 'killed', database: choice });
    await DBOS.launch();
    for (const k of Object.keys(runs)) delete runs[k];
    let killed = 0;
    fault = async () => void (killed += await killEngineConnections());
    const h = await DBOS.startWorkflow(faulted, { workflowID: 'killed-1' })(5);
    expect(await h.getResult()).toBe(110); // the sum of i*10 + i for i < 5
    expect(killed).toBeGreaterThanOrEqual(5); // the faults were real: connections were terminated
    expect(await h.getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    expect((await DBOS.listWorkflowSteps('killed-1')).map((s) => s.name)).toEqual(Array.from({ length: 5 }, () => ['faultStep', 'plainStep']).flat());
    for (let i = 0; i < 5; i++) expect([runs[`fault${i}`], runs[`plain${i}`]]).toEqual([1, 1]);
  });

  it("a connection killed inside the app's own transaction fails that transaction (the step's error), never the process", async () => {
    const { choice } = await freshDatabase('postgres');
    DBOS.setConfig({ name: 'killedtx', database: choice });
    await DBOS.launch();
    const appTx = DBOS.registerStep(async function appTx() {
      const tx = DBOS.appDatabase.batch([{ sql: 'SELECT 1' }, { sql: 'SELECT pg_sleep(3)' }]).then(() => 'committed', (e: Error) => `failed: ${e.message}`);
      await sleep(500);
      await killEngineConnections();
      return tx;
    }, { name: 'appTx' });
    const wf = DBOS.registerWorkflow(async () => [await appTx(), await plainStep(99)], { name: 'killedTxWorkflow' });
    const h = await DBOS.startWorkflow(wf, { workflowID: 'killed-tx' })();
    const [tx, after] = (await h.getResult()) as [string, number];
    expect(tx).toMatch(/^failed: .*(terminat|Connection)/i);
    expect(after).toBe(99);
    expect((await h.getStatus())?.status).toBe('SUCCESS');
    await sleep(200); // a late 'error' event from the killed socket would surface as an unhandled error and fail the file
  });
});

/** Another process takes SQLite's write lock (BEGIN IMMEDIATE) for `ms`; resolves once it holds it. */
function holdWriteLock(file: string, ms: number): Promise<void> {
  const code = `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(file)});
    d.exec('BEGIN IMMEDIATE'); console.log('LOCKED'); setTimeout(() => { d.exec('COMMIT'); d.close(); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', code], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('LOCKED') && resolve());
    child.on('error', reject);
    child.on('exit', (c) => c !== 0 && reject(new Error(`lock holder exited ${c}`)));
  });
}

describe.skipIf(!DATABASES.includes('sqlite'))('SQLite: another process holds the write lock past the 5 s busy timeout', () => {
  it('briefly (7 s): the engine retries its write, the workflow ends SUCCESS, the step ran once', async () => {
    const { choice } = await freshDatabase('sqlite');
    DBOS.setConfig({ name: 'locked', database: choice });
    await DBOS.launch();
    for (const k of Object.keys(runs)) delete runs[k];
    fault = () => holdWriteLock((choice as { file: string }).file, 7000);
    const h = await DBOS.startWorkflow(faulted, { workflowID: 'locked-1' })(1);
    expect(await h.getResult()).toBe(0);
    expect(await h.getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    expect(runs).toEqual({ fault0: 1, plain0: 1 });
  }, 30_000);

  it('past the retry budget: the execution stops without an outcome, stays PENDING, and the background recovery finishes it', async () => {
    const { choice } = await freshDatabase('sqlite');
    DBOS.setConfig({ name: 'locked', database: choice, recoveryIntervalMs: 300 });
    await DBOS.launch();
    databaseRetry.budgetMs = 1000; // one busy wait (5 s) is past it
    for (const k of Object.keys(runs)) delete runs[k];
    let held = false; // one fault, in step 0
    fault = async () => void (held || ((held = true), await holdWriteLock((choice as { file: string }).file, 8000)));
    const h = await DBOS.startWorkflow(faulted, { workflowID: 'locked-2' })(2);
    const deadline = Date.now() + 60_000;
    while (!((runs.fault0 ?? 0) >= 2) && Date.now() < deadline) await sleep(200); // the first execution stopped; recovery runs the step again
    expect(runs.fault0).toBeGreaterThanOrEqual(2);
    expect(await h.getResult()).toBe(0 + 0 + 10 + 1);
    // Never ERROR: the first execution recorded nothing for the step, a recovery did (the lock may
    // still have been held when the first recovery began: then it stopped too, and the next one ran).
    const row = (await h.getStatus())!;
    expect(row.status).toBe('SUCCESS');
    expect(row.recoveryAttempts).toBeGreaterThanOrEqual(2);
    expect(runs.fault0).toBeGreaterThanOrEqual(2);
    expect([runs.plain0, runs.fault1, runs.plain1]).toEqual([1, 1, 1]);
    expect((await DBOS.listWorkflowSteps('locked-2')).map((s) => s.name)).toEqual(['faultStep', 'plainStep', 'faultStep', 'plainStep']);
  }, 120_000); // busy waits block the event loop 5 s each: slow on a loaded machine
});

// A small disk: a 1 MB tmpfs needs root (mount). Without it, the test says so and is skipped.
const canMount = (() => {
  if (!DATABASES.includes('sqlite') || process.getuid?.() !== 0) return false;
  const probe = tempDir('workbook-mount-probe-');
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();

describe.skipIf(!canMount)('SQLite on a full disk (a 1 MB tmpfs; skipped when this user cannot mount one)', () => {
  let disk: string;
  beforeAll(() => {
    disk = tempDir('workbook-full-');
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]).status).toBe(0);
  });
  afterAll(() => {
    spawnSync('umount', [disk]);
    rmSync(disk, { recursive: true, force: true });
  });
  /** Fills the disk to the last byte; returns the file to delete to free it. */
  const fill = (): string => {
    const filler = join(disk, 'filler');
    const block = Buffer.alloc(4096, 1);
    writeFileSync(filler, '');
    try {
      for (;;) writeFileSync(filler, block, { flag: 'a' });
    } catch {
      return filler; // ENOSPC: full
    }
  };

  it('a checkpoint refused for lack of space is retried once space is back: SUCCESS, nothing lost or doubled', async () => {
    mkdirSync(join(disk, 'a'));
    const file = join(disk, 'a', 'full.db');
    DBOS.setConfig({ name: 'fulldisk', database: { kind: 'sqlite', file } });
    await DBOS.launch();
    for (const k of Object.keys(runs)) delete runs[k];
    fault = async () => {
      const filler = fill();
      setTimeout(() => rmSync(filler), 1500);
    };
    const h = await DBOS.startWorkflow(faulted, { workflowID: 'full-1' })(3);
    expect(await h.getResult()).toBe(0 + 10 + 20 + 0 + 1 + 2);
    expect(await h.getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    for (let i = 0; i < 3; i++) expect([runs[`fault${i}`], runs[`plain${i}`]]).toEqual([1, 1]);
  }, 30_000);

  it('launch() of an existing database on a full disk: a DatabaseConnectionError that says the disk is full, not a raw SqliteError', async () => {
    mkdirSync(join(disk, 'b'));
    const file = join(disk, 'b', 'existing.db');
    DBOS.setConfig({ name: 'fulldisk', database: { kind: 'sqlite', file } });
    await DBOS.launch();
    await DBOS.shutdown();
    const filler = fill();
    try {
      const err = await DBOS.launch().then(() => new Error('launched on a full disk'), (e: Error) => e);
      expect(err).toBeInstanceOf(DatabaseConnectionError);
      expect(err.message).toMatch(/the disk is full \((database or disk is full|disk I\/O error)\)/);
      expect(err.message).toMatch(/Free some space on the disk .*nothing committed was lost/);
    } finally {
      rmSync(filler);
    }
  });
});
