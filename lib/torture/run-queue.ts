// One torture run of the queue (npm run torture -- --workload queue) on one database: 24 jobs are
// enqueued by a client, three worker processes (lib/torture/queue-child.ts) run them, and from
// outside we SIGKILL a worker at seeded moments and start a fresh one each time. Invariants after:
//   every enqueued workflow ended SUCCESS with its expected value, nothing ENQUEUED or PENDING;
//   each (workflow id, function id) recorded once, ids without gaps (checkWorkflows);
//   no live worker ran a step body, or finished a job, that another execution had finished;
//   globalConcurrency (3) and workerConcurrency (2) never exceeded, measured from the jobs' own
//   start and end times (a killed execution ends when we killed it).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { runFile } from '../child-run.js';
import { DBOSClient } from '../queues/client.js';
import { deserialize } from '../serialize.js';
import { maxInFlightBy } from '../queues/in-flight.js';
import { freshDatabase, type FreshKind as TortureDb } from '../storage/fresh.js';
import { withDatabase } from '../storage/open.js';
import { checkStorage, checkWorkflows } from './invariants.js';
import type { RunStats, TortureOptions } from './run-counter.js';

export const QUEUE_PROGRAM = 'lib/torture/queue-child.ts';
const JOBS = 24;
const WORKERS = 3;
export const LIMITS = { global: 3, worker: 2 };
// Liveness: a run fails when no job finished and no worker came up for STALL_MS (on a machine so
// loaded that a worker takes 15 s to start, eight kills in a row can take two minutes; a fixed 90 s
// for the whole run failed one run in twenty there without anything stuck), or after RUN_DEADLINE_MS.
const STALL_MS = 60_000;
// Made here once, before any worker starts: three workers' own CREATE TABLE IF NOT EXISTS at the same
// instant can fail on PostgreSQL (pg_type_typname_nsp_index: seed 66 saw a worker die of it).
const RUNS_TABLE = 'CREATE TABLE IF NOT EXISTS torture_q_runs (job INTEGER NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, PRIMARY KEY (job, attempt))';
const RUN_DEADLINE_MS = 600_000;

export async function runQueueSeed(db: TortureDb, seed: number, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [], notes: [] };
  const bad = (m: string) => stats.violations.push(m);
  const place = await freshDatabase(db, 'torture', `q_s${seed}`, opts.pgAdminUrl);
  const effects = join(place.dir, 'effects.log');
  const rng = xoroshiro128plus(seed * 2 + (db === 'sqlite' ? 0 : 1));
  const draw = (max: number) => unsafeUniformIntDistribution(0, max, rng);
  const killedAt = new Map<number, number>();
  const live = new Map<number, ChildProcess>();
  const runs: Promise<unknown>[] = [];
  let stopping = false;
  let lastProgress = Date.now();
  const start = async () => {
    stats.processes++;
    let ready: () => void;
    const up = new Promise<void>((r) => (ready = r));
    runs.push(runFile(opts.program ?? QUEUE_PROGRAM, {
      env: { ...place.env, WORKBOOK_LOG: 'warn', TORTURE_EFFECTS: effects }, timeoutMs: RUN_DEADLINE_MS + 30_000,
      onLine: (l, c) => {
        if (l !== 'READY') return;
        lastProgress = Date.now();
        if (stopping) c.kill('SIGTERM');
        else live.set(c.pid!, c);
        ready();
      },
    }).then((r) => {
      live.delete(r.pid);
      if (!killedAt.has(r.pid) && r.code !== 0) bad(`worker ${r.pid} ended with code ${r.code} signal ${r.signal}: ${r.stderr.trim().split('\n').slice(-4).join(' | ')}`);
      ready();
    }));
    await up;
  };
  const client = await DBOSClient.create({ database: place.choice, applicationName: 'torture' });
  try {
    for (let i = 0; i < JOBS; i++) await client.enqueue({ queueName: 'torture_q', workflowName: 'qjob', workflowID: `q-${i}` }, i);
    await withDatabase(place.choice, 'torture', 'torture-setup', (sys) => sys.app.exec(RUNS_TABLE));
    await Promise.all(Array.from({ length: WORKERS }, start));
    const deadline = Date.now() + RUN_DEADLINE_MS;
    let doneBefore = 0;
    for (;;) {
      await sleep(50 + draw(opts.killWindowMs[db] * 3));
      const done = (await client.systemDatabase.listQueueRows('torture_q', ['SUCCESS'])).length;
      if (done === JOBS) break;
      if (done > doneBefore) (doneBefore = done), (lastProgress = Date.now());
      if (Date.now() > deadline || Date.now() - lastProgress > STALL_MS) {
        const why = Date.now() > deadline ? `after ${RUN_DEADLINE_MS / 1000} s` : `none for ${((Date.now() - lastProgress) / 1000).toFixed(0)} s while no worker came up`;
        bad(`only ${done} of ${JOBS} jobs ended SUCCESS, ${why}: the queue does not make progress`);
        break;
      }
      if (stats.kills < opts.maxDeaths && draw(999) < opts.killChance * 1000 && live.size) {
        const pids = [...live.keys()];
        const pid = pids[draw(pids.length - 1)];
        killedAt.set(pid, Date.now());
        live.get(pid)!.kill('SIGKILL');
        live.delete(pid);
        stats.kills++;
        void start(); // the replacement comes up while the others work: the next kill may come before it is ready
      }
    }
    stopping = true; // a replacement still starting is stopped once READY
    for (const c of live.values()) c.kill('SIGTERM');
    await Promise.all(runs);
    await withDatabase(place.choice, 'torture', 'torture-check', async (sys) => {
      await checkStorage(sys, bad);
      stats.recoveries = await checkWorkflows(sys, bad);
      const rows = await sys.listQueueRows('torture_q');
      if (rows.length !== JOBS) bad(`${rows.length} workflows on the queue, ${JOBS} enqueued`);
      for (const r of rows) {
        const want = 30 * Number(r.workflowID.slice(2)) + 3;
        if (deserialize(r.output) !== want) bad(`${r.workflowID}: ${r.status} with output ${r.output}, expected ${want}`);
      }
      const execs = (await sys.app.query<Record<string, unknown>>('SELECT job, attempt, pid, started_at, ended_at FROM torture_q_runs')).map((r) => ({
        job: Number(r.job), pid: Number(r.pid), start: Number(r.started_at),
        end: r.ended_at !== null ? Number(r.ended_at) : killedAt.get(Number(r.pid)) ?? null,
        finished: r.ended_at !== null,
      }));
      for (const e of execs) if (e.end === null) bad(`job ${e.job}: an execution in live worker ${e.pid} never ended`);
      const m = maxInFlightBy(execs.map((e) => ({ ...e, group: e.pid })));
      stats.inFlight = { all: m.all, worker: Math.max(0, ...m.by.values()) };
      if (m.all > LIMITS.global) bad(`${m.all} jobs ran at once: globalConcurrency ${LIMITS.global} exceeded`);
      for (const [pid, n] of m.by) if (n > LIMITS.worker) bad(`worker ${pid} ran ${n} jobs at once: workerConcurrency ${LIMITS.worker} exceeded`);
      for (let i = 0; i < JOBS; i++) {
        const finishedLive = execs.filter((e) => e.job === i && e.finished && !killedAt.has(e.pid)).length;
        if (finishedLive > 1) bad(`job ${i} was run to its end ${finishedLive} times by live workers`);
      }
      const text = existsSync(effects) ? readFileSync(effects, 'utf8') : '';
      const bodies = new Map<string, number[]>();
      for (const line of text.split('\n').filter(Boolean)) {
        const [wf, fid, pid] = line.split(' ');
        bodies.set(`${wf} ${fid}`, [...(bodies.get(`${wf} ${fid}`) ?? []), Number(pid)]);
      }
      for (const [key, pids] of bodies) {
        if (pids.length > 1) stats.reRuns++;
        if (pids.filter((p) => !killedAt.has(p)).length > 1) bad(`step ${key} ran in ${pids.length} executions, more than one of them in a live worker (${pids.join(', ')})`);
      }
      if (bodies.size !== JOBS * 3) bad(`${bodies.size} step bodies ran, ${JOBS * 3} expected`);
    });
  } catch (err) {
    bad(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    for (const c of live.values()) c.kill('SIGKILL');
    await client.destroy().catch(() => undefined);
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = `${place.where} (effects: ${effects})`;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
