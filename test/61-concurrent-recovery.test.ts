// Concurrent recovery, with real processes (test/fixtures/recovery-worker.ts), and first in one:
//  0. Many callers in one process (getResult, launch's recovery) race to take over the same
//     orphaned workflow while the reply to the winning claim is slow: one execution only.
//  1. A process starts 12 workflows and is SIGKILLed mid-way; three processes then recover at the
//     same instant (a SIGUSR1 barrier). Each workflow must be claimed once (recovery_attempts 2),
//     its remaining steps run and recorded once, in the process that claimed it, and its result
//     be one value for everybody.
//  2. Takeover: a process finds workflows owned by a live executor and leaves them alone
//     (RecoveryReport.ownedElsewhere); once that executor is stopped (SIGSTOP: its pid is alive,
//     its heartbeat is not) and its lease ran out, it takes them over. The stopped owner, let go
//     afterwards, finds itself fenced: it writes nothing and reads the new owner's result.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { DBOS } from '../lib/index.js';
import { deserialize } from '../lib/serialize.js';
import { state } from '../lib/state.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, marked, runScript, tempDir, type RunResult } from './helpers.js';

const WORKER = 'test/fixtures/recovery-worker.ts';
const K = 12;
const STEPS = 6;
const BLOCK_AT = 2;
const ids = Array.from({ length: K }, (_, i) => `race-${i}`);
const expected = Object.fromEntries(ids.map((id, i) => [id, STEPS * 100 * i + (STEPS * (STEPS - 1)) / 2]));

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await DBOS.shutdown();
});

// In this process: a workflow whose step bodies are counted in memory.
const bodyRuns = new Map<string, number>();
const countedStep = DBOS.registerStep(async function countedStep(fid: number) {
  const key = `${DBOS.workflowID} ${fid}`;
  bodyRuns.set(key, (bodyRuns.get(key) ?? 0) + 1);
  await new Promise((r) => setTimeout(r, 5));
  return fid;
});
const inProcess = DBOS.registerWorkflow(async function inProcess() {
  let sum = 0;
  for (let fid = 0; fid < 4; fid++) sum += await countedStep(fid);
  return sum;
});
void inProcess;

/** What the worker prints after "REPORT: " (test/fixtures/recovery-worker.ts). */
interface Report { recovered: string[]; ownedElsewhere: string[] }

/** Every step body execution, from the effect files: "wf fid" -> pids that ran it. */
function effects(dir: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const [wf, fid, pid] = line.split(' ');
      m.set(`${wf} ${fid}`, [...(m.get(`${wf} ${fid}`) ?? []), Number(pid)]);
    }
  }
  return m;
}

/** Starts the creator; resolves with its process once all its workflows are blocked mid-way. */
/**
 * After a race: each workflow claimed once (SUCCESS at attempt 2) with every function id recorded
 * once; returns, per workflow, the pid that recorded each step (the steps return their pid).
 */
async function recordersOf(choice: DatabaseChoice): Promise<Map<string, number[]>> {
  return withDatabase(choice, 'race', 'race-check', async (db) => {
    const recorders = new Map<string, number[]>();
    for (const id of ids) {
      const row = await db.getWorkflow(id);
      expect([row?.status, row?.recoveryAttempts]).toEqual(['SUCCESS', 2]);
      const ops = await db.loadOperations(id);
      expect(ops.map((o) => o.functionID)).toEqual([...Array(STEPS).keys()]);
      recorders.set(id, ops.map((o) => deserialize<{ pid: number }>(o.output).pid));
    }
    return recorders;
  });
}

function startCreator(env: Record<string, string>): { ready: Promise<ChildProcess>; done: Promise<RunResult> } {
  let resolveReady!: (c: ChildProcess) => void;
  const ready = new Promise<ChildProcess>((r) => (resolveReady = r));
  const done = runScript(WORKER, { ...env, MODE: 'create' }, {
    onLine: (line, child) => {
      if (!children.includes(child)) children.push(child);
      if (line === 'READY') resolveReady(child);
    },
  });
  return { ready, done };
}

for (const kind of DATABASES) {
  describe(`${kind}: concurrent recovery`, () => {
    it('one process: many callers racing to take over the same orphaned workflow start one execution', async () => {
      bodyRuns.clear();
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'race1', database: choice });
      await DBOS.launch();
      // A PENDING workflow owned by an executor of this host whose process is gone (found by the
      // torture: a second claim slipped in between the first claim's commit and its execution).
      const ids = ['orphan-0', 'orphan-1', 'orphan-2'];
      await withDatabase(choice, 'race1', 'race1-setup', async (setup) => {
        await setup.upsertExecutor({ executorID: 'gone', hostname: hostname(), pid: 2 ** 22 + 1, heartbeatAt: Date.now() });
        for (const id of ids) {
          await setup.insertWorkflow({ workflowID: id, name: 'inProcess', inputs: '[]', executorID: 'gone', applicationID: 'race1',
            applicationVersion: DBOS.applicationVersion, parentWorkflowID: null, now: Date.now() });
        }
      });
      // The reply to a successful claim comes late (a slow network after the commit): meanwhile
      // the other callers see the workflow claimed by this executor but not yet running here.
      const db = state.db!;
      const claimWorkflow = db.claimWorkflow.bind(db);
      db.claimWorkflow = async (...args) => {
        const got = await claimWorkflow(...args);
        if (got !== null) await new Promise((r) => setTimeout(r, 40));
        return got;
      };
      const callers = ids.flatMap((id) => Array.from({ length: 8 }, () => DBOS.retrieveWorkflow(id).getResult()));
      const [results] = await Promise.all([Promise.all(callers), DBOS.recoverPendingWorkflows(), DBOS.recoverPendingWorkflows()]);
      expect(results).toEqual(Array(ids.length * 8).fill(6));
      for (const id of ids) {
        expect((await DBOS.getWorkflowStatus(id))?.recoveryAttempts).toBe(2);
        for (let fid = 0; fid < 4; fid++) expect(bodyRuns.get(`${id} ${fid}`), `${id} step ${fid}`).toBe(1);
      }
    });

    it('three processes recover the same PENDING workflows at once: each is executed by one of them', async () => {
      const { choice, env: dbEnv } = await freshDatabase(kind);
      const dir = tempDir('effects-');
      // A 60 s lease: the dead creator can only be judged dead by its pid being gone.
      const env = { ...dbEnv, EFFECTS_DIR: dir, RELEASE_FILE: join(dir, 'never'), WORKFLOWS: String(K), LEASE_MS: '60000' };
      const creator = startCreator(env);
      const creatorPid = (await creator.ready).pid!;
      (await creator.ready).kill('SIGKILL');
      expect((await creator.done).signal).toBe('SIGKILL');

      const waiting: ChildProcess[] = [];
      const workers = [0, 1, 2].map(() =>
        runScript(WORKER, { ...env, MODE: 'recover', GATE: '1' }, {
          onLine: (line, child) => {
            if (!children.includes(child)) children.push(child);
            if (line !== 'READY') return;
            waiting.push(child);
            if (waiting.length === 3) for (const c of waiting) c.kill('SIGUSR1'); // the barrier
          },
        }),
      );
      const done = await Promise.all(workers);
      for (const r of done) expect(r.code, r.stderr).toBe(0);

      // Each workflow recovered by exactly one process, and every process got the same results.
      const recovered = done.map((r) => marked<Report>(r, 'REPORT').recovered);
      expect(recovered.flat().sort()).toEqual([...ids].sort());
      for (const r of done) expect(marked(r, 'RESULTS')).toEqual(expected);
      const owner = new Map<string, number>();

      // The database: claimed once (attempt 2), every function id recorded once.
      for (const [id, recorders] of await recordersOf(choice)) {
        // Before the block the creator recorded; from it on, one recovering process did.
        expect(recorders.slice(0, BLOCK_AT)).toEqual(Array(BLOCK_AT).fill(creatorPid));
        const after = new Set(recorders.slice(BLOCK_AT));
        expect(after.size).toBe(1);
        owner.set(id, [...after][0]);
      }

      // The step bodies: run once each, by the process that recorded them (plus the creator's run
      // of the step it died in, whose outcome it never recorded).
      const ran = effects(dir);
      for (const id of ids) {
        for (let fid = 0; fid < STEPS; fid++) {
          const want = fid < BLOCK_AT ? [creatorPid] : fid === BLOCK_AT ? [creatorPid, owner.get(id)] : [owner.get(id)];
          expect(ran.get(`${id} ${fid}`)?.sort(), `${id} step ${fid}`).toEqual(want.sort());
        }
      }
    });

    it('a live owner is left alone; after its lease runs out its workflows are taken over and it is fenced', async () => {
      const { choice, env: dbEnv } = await freshDatabase(kind);
      const dir = tempDir('effects-');
      const release = join(dir, 'release');
      const env = { ...dbEnv, EFFECTS_DIR: dir, RELEASE_FILE: release, WORKFLOWS: String(K), LEASE_MS: '4000' };
      const creator = startCreator(env);
      const owner = await creator.ready;

      let taker!: ChildProcess;
      const takerDone = runScript(WORKER, { ...env, MODE: 'recover', TAKEOVER: '1' }, {
        onLine: (line, child) => {
          taker = child;
          if (!children.includes(child)) children.push(child);
          // The owner is alive and beating: the first look must leave its workflows alone.
          if (line.startsWith('REPORT: ')) {
            owner.kill('SIGSTOP'); // its pid stays alive, its heartbeat stops
            child.kill('SIGUSR1');
          }
        },
      });
      const t = await takerDone;
      expect(t.code, t.stderr).toBe(0);
      const report = marked<Report>(t, 'REPORT');
      expect(report.recovered).toEqual([]);
      expect([...report.ownedElsewhere].sort()).toEqual([...ids].sort());
      expect([...marked<string[]>(t, 'TAKEOVER')].sort()).toEqual([...ids].sort());
      expect(marked(t, 'RESULTS')).toEqual(expected);

      // Let the old owner go on: its blocked steps finish, their recording is refused (fenced),
      // and it reports the new owner's results.
      writeFileSync(release, '');
      owner.kill('SIGCONT');
      const o = await creator.done;
      expect(o.code, o.stderr).toBe(0);
      expect(marked(o, 'RESULTS')).toEqual(expected);

      for (const recorders of (await recordersOf(choice)).values()) {
        expect(recorders).toEqual([...Array(BLOCK_AT).fill(owner.pid), ...Array(STEPS - BLOCK_AT).fill(taker.pid)]);
      }
      const ran = effects(dir);
      for (const id of ids) {
        expect(ran.get(`${id} ${BLOCK_AT}`)?.sort()).toEqual([owner.pid, taker.pid].sort());
        for (let fid = BLOCK_AT + 1; fid < STEPS; fid++) expect(ran.get(`${id} ${fid}`)).toEqual([taker.pid]);
      }
    });
  });
}
