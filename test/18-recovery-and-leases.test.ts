// Issue 13, findings 3 and 7: recovery keeps looking while a process runs, and leases are judged
// on the database's clock.
//  - A worker process (test/fixtures/recovery-worker.ts) owns blocked workflows and is SIGKILLed
//    while this process is already running: the background pass takes them over within seconds,
//    with nobody calling launch() or getResult() here.
//  - An executor row with this host and this very pid (a previous process whose pid we reuse: a
//    container restart) is dead at once, even with a fresh heartbeat.
//  - This process's clock 60 s ahead does not make a live owner (another host, heartbeat fresh on
//    the database's clock) look dead; a heartbeat stamped 60 s in the future is not trusted.
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { DBOS } from '../lib/index.js';
import { DATABASES, freshDatabase, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await DBOS.shutdown();
});

// The same names as the worker's, so this process can run what it left.
const raceStep = DBOS.registerStep(async function raceStep(i: number, fid: number) {
  return { v: i * 100 + fid, pid: process.pid };
});
const raceWorkflow = DBOS.registerWorkflow(async function raceWorkflow(i: number) {
  let sum = 0;
  for (let fid = 0; fid < 6; fid++) sum += (await raceStep(i, fid)).v;
  return sum;
});
void raceWorkflow;
const leaseWorkflow = DBOS.registerWorkflow(async function leaseWorkflow(x: number) {
  return x * 2;
});
void leaseWorkflow;

/** Inserts a PENDING leaseWorkflow owned by `owner`, and that owner's executor row; `heartbeat` is an SQL expression or a number. */
async function ownedBy(id: string, owner: { executorID: string; hostname: string; pid: number; heartbeatAt: number }): Promise<void> {
  const S = DBOS.appDatabase.schemaPrefix;
  const now = Date.now();
  await DBOS.appDatabase.query(`INSERT INTO ${S}executors (executor_id, hostname, pid, heartbeat_at) VALUES (?, ?, ?, ?)`, [owner.executorID, owner.hostname, owner.pid, owner.heartbeatAt]);
  await DBOS.appDatabase.query(
    `INSERT INTO ${S}workflow_status (workflow_uuid, status, name, inputs, executor_id, application_id, application_version, recovery_attempts, created_at, updated_at)
     VALUES (?, 'PENDING', 'leaseWorkflow', '[21]', ?, 'lease', ?, 1, ?, ?)`,
    [id, owner.executorID, DBOS.applicationVersion, now, now],
  );
}

describe.each(DATABASES)('%s', (kind) => {
  it('the background pass takes over a dead owner\'s workflows while this process runs (no launch, no getResult)', async () => {
    const { choice, env } = await freshDatabase(kind);
    // This file and the worker register other code, so their default versions differ: one shared
    // version, as a deploy of several components pins it (promise 11).
    DBOS.setConfig({ name: 'race', database: choice, recoveryIntervalMs: 300, applicationVersion: 'test18' });
    await DBOS.launch();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/recovery-worker.ts'], {
      cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env, DBOS__APPVERSION: 'test18', MODE: 'create', WORKFLOWS: '4', EFFECTS_DIR: tempDir(), RELEASE_FILE: join(tempDir(), 'never') },
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('READY') && resolve());
      child.on('exit', (c) => reject(new Error(`worker exited ${c} before READY`)));
    });
    child.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    let rows = await DBOS.listWorkflows({ workflowName: 'raceWorkflow' });
    while (rows.some((r) => r.status !== 'SUCCESS') && Date.now() < deadline) {
      await sleep(200);
      rows = await DBOS.listWorkflows({ workflowName: 'raceWorkflow' });
    }
    expect(rows.map((r) => [r.workflowID, r.status, r.recoveryAttempts, r.executorId])).toEqual(
      [0, 1, 2, 3].map((i) => [`race-${i}`, 'SUCCESS', 2, DBOS.executorID]),
    );
    expect(rows[1].output).toBe(6 * 100 + 15);
  }, 60_000);

  it('an executor with this host and this pid (a previous process whose pid we reuse) is dead at once', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'lease', database: choice, recoveryIntervalMs: 0 });
    await DBOS.launch();
    await ownedBy('reused-pid', { executorID: `${hostname()}-${process.pid}-old`, hostname: hostname(), pid: process.pid, heartbeatAt: Date.now() });
    const report = await DBOS.recoverPendingWorkflows();
    expect(report.ownedElsewhere).toEqual([]);
    expect(report.recovered.map((h) => h.workflowID)).toEqual(['reused-pid']);
    expect(await report.recovered[0].getResult()).toBe(42);
  });

  it("a clock 60 s ahead here does not take a live owner's workflow; a heartbeat 60 s in the future is not trusted", async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'lease', database: choice, executorLeaseMs: 10_000, recoveryIntervalMs: 0 });
    await DBOS.launch();
    const now = Date.now();
    await ownedBy('live-owner', { executorID: 'other-host-live', hostname: 'other-host', pid: 1, heartbeatAt: now });
    await ownedBy('future-beat', { executorID: 'other-host-future', hostname: 'other-host', pid: 2, heartbeatAt: now + 60_000 });
    vi.spyOn(Date, 'now').mockImplementation(() => now + 60_000 + Math.floor(performance.now() % 1000));
    const report = await DBOS.recoverPendingWorkflows();
    vi.restoreAllMocks();
    expect(report.ownedElsewhere).toEqual(['live-owner']);
    expect(report.recovered.map((h) => h.workflowID)).toEqual(['future-beat']);
    expect((await DBOS.getWorkflowStatus('live-owner'))).toMatchObject({ status: 'PENDING', executorId: 'other-host-live', recoveryAttempts: 1 });
    expect(await report.recovered[0].getResult()).toBe(42);
  });
});
