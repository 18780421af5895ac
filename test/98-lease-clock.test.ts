// Leases on the database's clock, with a real process (docs/DESIGN.md promise 6): a live worker whose
// own clock is 60 s behind (test/fixtures/skewed-clock-worker.ts) heartbeats; its heartbeats are
// stamped by the database's clock, so this process (clock right, lease 2 s) judges it alive past
// several leases and leaves its workflow alone. Were the heartbeat stamped with the worker's clock,
// it would look 60 s old, dead, and this process would take the workflow from a live owner (the
// mutant lease-beat-db-clock). Then the worker finishes its workflow itself, once. And the other side
// of the judgement: a worker paused with SIGSTOP (its pid alive, its heartbeats stopped) is dead once
// its last heartbeat is a lease old, and the background pass takes its workflow over (the mutant
// lease-expiry). Both databases.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { DATABASES, freshDatabase, marked, runScript } from './helpers.js';

const LEASE_MS = 2000;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await DBOS.shutdown();
});

// The worker's workflow, registered here too: were it taken over, this process would run it (and say so).
const held = DBOS.registerWorkflow(async function held() {
  return -1;
}, { name: 'held' });
void held;

describe.each(DATABASES)('%s', (kind) => {
  it("a live worker whose clock is 60 s behind keeps its workflow: its heartbeat is stamped by the database's clock", async () => {
    const { choice, env } = await freshDatabase(kind);
    const release = join(env.WORKBOOK_DATA_DIR, 'release');
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const worker = runScript('test/fixtures/skewed-clock-worker.ts', { ...env, CLOCK_SKEW_MS: '-60000', LEASE_MS: String(LEASE_MS), WORKFLOW_ID: 'held-1', RELEASE_FILE: release }, {
      onLine: (l, c) => l === 'READY' && (children.push(c), ready()),
    });
    await Promise.race([started, worker.then((r) => { throw new Error(`the worker ended before READY: ${r.stderr}`); })]);
    DBOS.setConfig({ name: 'skew', database: choice, executorLeaseMs: LEASE_MS, recoveryIntervalMs: 0, applicationVersion: 'v98' }); // the worker's version
    await DBOS.launch();
    // Past the lease, more than once: only heartbeats renewed on the database's clock keep it alive.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, LEASE_MS * 0.75));
      const report = await DBOS.recoverPendingWorkflows();
      expect(report.recovered.map((h) => h.workflowID)).toEqual([]);
    }
    expect(await DBOS.getWorkflowStatus('held-1')).toMatchObject({ status: 'PENDING', recoveryAttempts: 1 });
    writeFileSync(release, '');
    const r = await worker;
    expect(r.code, r.stderr).toBe(0);
    expect(marked<number>(r, 'RESULT')).toBeGreaterThan(0); // the worker's pid: it finished its own workflow
    expect(await DBOS.getWorkflowStatus('held-1')).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  }, 90_000);

  it('a paused worker (SIGSTOP, its pid still alive) is dead once its heartbeat is older than the lease: the background pass takes its workflow', async () => {
    const { choice, env } = await freshDatabase(kind);
    let ready!: (c: ChildProcess) => void;
    const started = new Promise<ChildProcess>((r) => (ready = r));
    const worker = runScript('test/fixtures/skewed-clock-worker.ts', { ...env, LEASE_MS: String(LEASE_MS), WORKFLOW_ID: 'paused-1', RELEASE_FILE: join(env.WORKBOOK_DATA_DIR, 'never') }, {
      onLine: (l, c) => l === 'READY' && (children.push(c), ready(c)),
    });
    const child = await Promise.race([started, worker.then((r): never => { throw new Error(`the worker ended before READY: ${r.stderr}`); })]);
    DBOS.setConfig({ name: 'skew', database: choice, executorLeaseMs: LEASE_MS, recoveryIntervalMs: 200, applicationVersion: 'v98' }); // the worker's version
    await DBOS.launch();
    expect((await DBOS.getWorkflowStatus('paused-1'))?.executorId).not.toBe(DBOS.executorID); // alive and beating: left alone
    child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Nobody calls recover or getResult here: the background pass alone judges the owner dead.
    let status = await DBOS.getWorkflowStatus('paused-1');
    while (status?.executorId !== DBOS.executorID && Date.now() - stoppedAt < LEASE_MS + 15_000) {
      await new Promise((r) => setTimeout(r, 100));
      status = await DBOS.getWorkflowStatus('paused-1');
    }
    const tookMs = Date.now() - stoppedAt;
    child.kill('SIGKILL');
    await worker;
    expect(status).toMatchObject({ executorId: DBOS.executorID, recoveryAttempts: 2 });
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - 500); // not before its last heartbeat was a lease old (beats every lease / 5)
    expect(await DBOS.retrieveWorkflow<number>('paused-1').getResult()).toBe(-1); // run here, by the new owner
  }, 90_000);
});
