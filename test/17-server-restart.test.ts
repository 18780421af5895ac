// Issue 13, findings 1 and 3: the PostgreSQL server restarts under a running workflow. A separate
// embedded server of this file's own (in a temp dir, so the suite's shared one is untouched) is
// stopped for real (SIGQUIT: `immediate`, SIGINT: `fast`) and started again on the same port.
// Short outage: the engine's retries carry the workflow through, each step runs and is recorded
// once. Outage past the retry budget: the execution stops without an outcome, the workflow stays
// PENDING, and this process's background recovery runs it again once the server is back.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { ensureDatabase, ensureEmbeddedPostgres, stopEmbeddedPostgres, type EmbeddedServer } from '../lib/storage/embedded-pg.js';
import { databaseRetry } from '../lib/storage/transient.js';
import { DATABASES, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const budget = databaseRetry.budgetMs;

describe.skipIf(!DATABASES.includes('postgres'))('PostgreSQL restarts under a running workflow', () => {
  let root: string;
  let server: EmbeddedServer;
  let url: string;
  beforeAll(async () => {
    root = tempDir('workbook-restart-');
    server = await ensureEmbeddedPostgres(join(root, 'pg'));
    url = await ensureDatabase(server.adminUrl, 'restart');
  }, 120_000);
  afterAll(async () => {
    await stopEmbeddedPostgres(server.dir);
    rmSync(root, { recursive: true, force: true });
  });
  afterEach(async () => {
    await DBOS.shutdown();
    databaseRetry.budgetMs = budget;
  });

  /** Stops the server (immediate or fast), waits `downMs`, starts it again on the same port. */
  async function restart(mode: 'immediate' | 'fast', downMs: number): Promise<void> {
    const pidFile = join(server.dir, 'postmaster.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    // The command line the server was started with names its binaries' directory.
    const postgres = /^(\S+)/.exec(readFileSync(join(server.dir, 'postmaster.opts'), 'utf8'))![1];
    process.kill(pid, mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
    while (existsSync(pidFile)) await sleep(50);
    await sleep(downMs);
    const ids = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) } : {};
    const started = spawnSync(join(dirname(postgres), 'pg_ctl'), ['-D', server.dir, '-l', join(server.dir, 'server.log'), '-w', '-t', '60',
      '-o', `-p ${server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`, 'start'], { ...ids, encoding: 'utf8' });
    expect(started.status, started.stderr).toBe(0);
  }

  const runs = new Map<number, number>();
  let onStep: (i: number) => Promise<void> = async () => {};
  const slowStep = DBOS.registerStep(async function slowStep(i: number) {
    runs.set(i, (runs.get(i) ?? 0) + 1);
    await onStep(i);
    await sleep(50);
    return i;
  });
  const restarted = DBOS.registerWorkflow(async function restarted(n: number) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await slowStep(i);
    return sum;
  });

  it('a short restart (immediate): SUCCESS, every step ran and was recorded once, no recovery needed', async () => {
    DBOS.setConfig({ name: 'restart', database: { kind: 'postgres', url } });
    await DBOS.launch();
    runs.clear();
    let restarting: Promise<void> | undefined;
    onStep = async (i) => void (i === 3 && !restarting && (restarting = restart('immediate', 1000)));
    const h = await DBOS.startWorkflow(restarted, { workflowID: 'restart-short' })(12);
    expect(await h.getResult()).toBe(66);
    await restarting;
    expect(await h.getStatus()).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect((await DBOS.listWorkflowSteps('restart-short')).map((s) => s.output)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  }, 60_000);

  it('down past the retry budget (fast): stopped without an outcome, PENDING, then recovered here once the server is back', async () => {
    DBOS.setConfig({ name: 'restart', database: { kind: 'postgres', url }, recoveryIntervalMs: 300 });
    await DBOS.launch();
    databaseRetry.budgetMs = 1500;
    runs.clear();
    let restarting: Promise<void> | undefined;
    onStep = async (i) => void (i === 3 && !restarting && (restarting = restart('fast', 4000)));
    const h = await DBOS.startWorkflow(restarted, { workflowID: 'restart-long' })(8);
    while (!restarting) await sleep(20);
    await restarting; // the server is back; the background pass takes the stopped workflow again
    expect(await h.getResult()).toBe(28);
    const row = (await h.getStatus())!;
    expect(row.status).toBe('SUCCESS'); // never ERROR
    expect(row.recoveryAttempts).toBeGreaterThanOrEqual(2); // the first execution stopped, a recovery finished it
    const steps = await DBOS.listWorkflowSteps('restart-long');
    expect(steps.map((s) => s.output)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // each recorded once
    expect([0, 1, 2].map((i) => runs.get(i))).toEqual([1, 1, 1]); // recorded before the outage: replayed, not run
  }, 60_000);
});
