/**
 * ex7: a queue, three worker processes, one of them killed, and every job done exactly once
 * ===========================================================================================
 *
 * What it shows
 *   Until now each lesson ran its workflow in the process that started it. Here a client that has
 *   no workflow code (DBOSClient, as an API server would) enqueues 100 jobs on the queue
 *   "ex7_pages": job N generates page N of the users (10 of them) and inserts them, idempotently.
 *   Three worker processes run the queue with workerConcurrency 2 (at most 2 jobs at once in one
 *   worker) and globalConcurrency 4 (at most 4 in all workers together). In the middle, one worker
 *   is killed with SIGKILL while it holds jobs (seeded: the same seed kills the same worker at the
 *   same point), then started again. Its jobs go back to the queue, another worker takes them, their
 *   recorded steps replay instead of running again, and they finish once.
 *   Each job writes when it starts and ends into a table of its own (ex7_job_runs); the report
 *   measures from it how many jobs ran at once, per worker and in all, and checks the limits.
 *
 * Run it
 *   npx tsx experiments/ex7.ts                 # SQLite: data/ex7.db, three workers on one file
 *   npx tsx experiments/ex7.ts --pg            # embedded PostgreSQL (or DATABASE_URL=postgres://...)
 *   By hand, in three terminals (add --pg to each for PostgreSQL):
 *     npx tsx experiments/ex7.ts --worker              # terminal 1 (and 2, 3 ...: as many workers as you like)
 *     npx tsx experiments/ex7.ts --reset --enqueue 100 # terminal 2: empties the tables, enqueues 100 jobs
 *     npx tsx experiments/ex7.ts --report              # terminal 3: the tables below, when you like
 *   kill -9 a worker mid-run and start it again to see the takeover; Ctrl-C stops one cleanly.
 *   Settings: WORKBOOK_SEED=3 (which worker dies, and when: default 1), WORKBOOK_P_KILL_WORKER=0.1
 *   (per finished job after the 30th, the chance that the kill comes now), WORKBOOK_EX7_JOB_MS=200.
 *
 * What it prints (SQLite, default seed; the numbers of jobs per worker vary from run to run)
 *   faults: seed=1 (WORKBOOK_SEED); kill-worker=0.1 (WORKBOOK_P_KILL_WORKER)
 *   ENQUEUED: 100 jobs on queue ex7_pages (workerConcurrency 2, globalConcurrency 4)
 *   the seed picks: SIGKILL worker w3 once 33 jobs are done, while it holds a job
 *   KILLED: w3 (pid 1234) holding 2 jobs
 *   RESTARTED: w3 as w3-restarted
 *   worker         jobs run  cut short  most in flight
 *   w1                   31          0               2
 *   ...
 *   all workers         100          2               4   (globalConcurrency 4)
 *   end state: 100 SUCCESS, each exactly once; users stored: 1000
 *   RESULT: {"jobs":100,"success":100,"exactlyOnce":true,"users":1000,"maxInFlight":4,...}
 *
 * Why the limits hold, and why nothing runs twice
 *   A worker claims jobs with one statement in a transaction that holds the queue's lock (PostgreSQL:
 *   an advisory lock; SQLite: BEGIN IMMEDIATE): it counts the queue's PENDING jobs, all and its own,
 *   and marks at most the free slots PENDING for itself. Two workers claiming at the same instant
 *   count one after the other. A claimed job is fenced by (executor, attempt): when the killed
 *   worker's jobs go back to ENQUEUED and are claimed again, the new attempt owns them, and a
 *   killed (or merely frozen) worker could not write for them any more.
 *   The killed worker's jobs still count as running until a live worker sees its process gone (same
 *   machine: its pid; another machine: its heartbeat older than the lease, 10 s) and requeues them:
 *   the limits are never overshot while it happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { currentExecutionAttempt } from '../lib/context.js';
import { runFile } from '../lib/child-run.js';
import { databaseFromEnv, DBOS, DBOSClient, fakeUsers, type User } from '../lib/index.js';
import { faultsOrExit, runLesson } from '../lib/lesson.js';
import { maxInFlightBy } from '../lib/queues/in-flight.js';
import type { AppDatabase } from '../lib/storage/types.js';

const APP = 'ex7';
const QUEUE = 'ex7_pages';
const JOBS_DEFAULT = 100;
const WORKERS = 3;
const JOB_MS = Number(process.env.WORKBOOK_EX7_JOB_MS ?? 200);
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const dbFlags = argv.filter((a) => a === '--pg' || a === '--sqlite');
const faults = faultsOrExit({ 'kill-worker': 0.1 }, 1);

// Step 1: the queue and the job, as every worker registers them (before DBOS.launch()).
DBOS.registerQueue(QUEUE, { workerConcurrency: 2, globalConcurrency: 4, minPollingIntervalMs: 50 });

const workerName = (() => {
  const i = argv.indexOf('--name');
  return i >= 0 ? argv[i + 1] : `pid-${process.pid}`;
})();

const generatePage = DBOS.registerStep(async function generatePage(page: number): Promise<User[]> {
  await sleep(JOB_MS); // the work a real job would do: long enough for jobs to overlap
  return fakeUsers(page);
});

// Idempotent: a retry, or a job taken over after its insert, writes nothing twice.
const insertUsers = DBOS.registerStep(async function insertUsers(page: number, users: User[]): Promise<number> {
  const values = users.map(() => '(?, ?, ?, ?)').join(', ');
  await DBOS.appDatabase.query(`INSERT INTO ex7_users (id, external_id, name, page) VALUES ${values} ON CONFLICT (id) DO NOTHING`,
    users.flatMap((u) => [u.id, u.externalId, u.name, page]));
  return users.length;
});

// The job says when it starts and ends, in workflow code (not a step): every execution writes its own row.
const pageJob = DBOS.registerWorkflow(async function pageJob(page: number): Promise<number> {
  const attempt = currentExecutionAttempt();
  await DBOS.appDatabase.query(`INSERT INTO ex7_job_runs (page, attempt, worker, pid, started_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (page, attempt) DO NOTHING`, [page, attempt, workerName, process.pid, Date.now()]);
  console.log(`JOB START page=${page} attempt=${attempt} worker=${workerName}`);
  const users = await generatePage(page);
  const n = await insertUsers(page, users);
  await DBOS.appDatabase.query(`UPDATE ex7_job_runs SET ended_at = ?, outcome = 'done' WHERE page = ? AND attempt = ?`, [Date.now(), page, attempt]);
  console.log(`JOB DONE page=${page} worker=${workerName}`);
  return n;
}, { name: 'pageJob' });

// Step 2: the client enqueues, by workflow name: it has no workflow code.
async function openClient(): Promise<DBOSClient> {
  const choice = databaseFromEnv(APP);
  if (choice.kind === 'embedded-postgres') return DBOSClient.create({ database: choice, applicationName: APP });
  return DBOSClient.create({ systemDatabaseUrl: choice.kind === 'sqlite' ? choice.file : choice.url, applicationName: APP });
}

async function enqueueJobs(client: DBOSClient, n: number): Promise<void> {
  for (let page = 1; page <= n; page++) {
    // One id per page: enqueueing again is a no-op, never a second job.
    await client.enqueue({ queueName: QUEUE, workflowName: 'pageJob', workflowID: `ex7-page-${page}` }, page);
  }
  console.log(`ENQUEUED: ${n} jobs on queue ${QUEUE} (workerConcurrency 2, globalConcurrency 4)`);
}

// Step 3: a worker runs until it is told to stop (Ctrl-C, SIGTERM) or killed.
async function worker(): Promise<void> {
  await runLesson(APP, async () => {
    await createTables(DBOS.appDatabase);
    // The handlers come before the marker: whoever reads it may signal at once.
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log(`WORKER READY name=${workerName} executor=${DBOS.executorID} pid=${process.pid}`);
    await stop;
    console.log(`WORKER STOPPING name=${workerName}: waiting for its jobs in flight`);
  });
}

// Step 4: the whole lesson: workers, the seeded kill and the restart, then the report.
function killPoint(total: number): { at: number; victim: string } {
  let at = Math.floor(total / 2);
  for (let n = Math.floor(total * 0.3); n < total * 0.8; n++) {
    if (faults.chance('kill-worker').hit) {
      at = n;
      break;
    }
  }
  return { at, victim: `w${1 + (at % WORKERS)}` };
}

async function lesson(): Promise<void> {
  console.log(faults.describe());
  const client = await openClient();
  try {
    await resetTables(client.systemDatabase.app);
    const total = Number(argv[argv.indexOf('--jobs') + 1]) || JOBS_DEFAULT;
    await enqueueJobs(client, total);
    const kill = killPoint(total);
    console.log(`the seed picks: SIGKILL worker ${kill.victim} once ${kill.at} jobs are done, while it holds a job`);
    let done = 0;
    let killed = false;
    const held = new Map<string, number>();
    const children = new Map<string, ChildProcess>();
    const runs: Promise<unknown>[] = [];
    const spawnWorker = (name: string) => {
      runs.push(runFile('experiments/ex7.ts', {
        args: ['--worker', '--name', name, ...dbFlags],
        timeoutMs: 300_000,
        onSpawn: (c) => children.set(name, c),
        onLine: (line, child) => {
          if (line.startsWith('JOB START')) held.set(name, (held.get(name) ?? 0) + 1);
          if (line.startsWith('JOB DONE')) (done++, held.set(name, (held.get(name) ?? 1) - 1));
          if (!killed && name === kill.victim && line.startsWith('JOB START') && done >= kill.at) {
            killed = true;
            child.kill('SIGKILL');
            console.log(`KILLED: ${name} (pid ${child.pid}) while it holds ${held.get(name)} job(s)`);
            child.once('exit', () => void afterKill(name, child.pid!));
          }
        },
      }));
    };
    const afterKill = async (name: string, pid: number) => {
      // The killed jobs never write their end: the one who killed them does, at the moment they died.
      await client.systemDatabase.app.query(`UPDATE ex7_job_runs SET ended_at = ?, outcome = 'killed' WHERE pid = ? AND ended_at IS NULL`, [Date.now(), pid]);
      await sleep(300);
      spawnWorker(`${name}-restarted`);
      console.log(`RESTARTED: ${name} as ${name}-restarted`);
    };
    for (let i = 1; i <= WORKERS; i++) spawnWorker(`w${i}`);
    while ((await successCount(client)) < total) await sleep(200);
    for (const c of children.values()) c.kill('SIGTERM');
    await Promise.all(runs);
    printReport(await report(client.systemDatabase.app, [...children.keys()]), faults.seed);
  } finally {
    await client.destroy();
  }
}

async function successCount(client: DBOSClient): Promise<number> {
  const rows = await client.systemDatabase.listQueueRows(QUEUE, ['SUCCESS']);
  return rows.length;
}

// Step 5: the tables, and the report measured from them.
async function createTables(db: AppDatabase): Promise<void> {
  await db.exec(`CREATE TABLE IF NOT EXISTS ex7_users (id TEXT PRIMARY KEY, external_id TEXT NOT NULL, name TEXT NOT NULL, page INTEGER NOT NULL)`);
  await db.exec(`CREATE TABLE IF NOT EXISTS ex7_job_runs (page INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT NOT NULL,
    pid INTEGER NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, outcome TEXT, PRIMARY KEY (page, attempt))`);
}

/** Empties the lesson's tables and its queue's workflows (run it while no worker runs). */
async function resetTables(db: AppDatabase): Promise<void> {
  await createTables(db);
  const S = db.schemaPrefix;
  const ofQueue = `SELECT workflow_uuid FROM ${S}workflow_status WHERE queue_name = ?`;
  await db.batch([
    { sql: 'DELETE FROM ex7_users' },
    { sql: 'DELETE FROM ex7_job_runs' },
    { sql: `DELETE FROM ${S}operation_outputs WHERE workflow_uuid IN (${ofQueue})`, params: [QUEUE] },
    { sql: `DELETE FROM ${S}workflow_status WHERE queue_name = ?`, params: [QUEUE] },
    { sql: `DELETE FROM ${S}queue_workers WHERE queue_name = ?`, params: [QUEUE] },
  ]);
}

interface Report {
  jobs: number; success: number; exactlyOnce: boolean; users: number; maxInFlight: number;
  perWorker: Record<string, { jobs: number; cutShort: number; maxInFlight: number }>; limitsHeld: boolean;
  takenOver: { page: number; from: string; to: string }[];
}

/** `workers`: names to show even when they ran nothing (a restarted worker may come too late for any job). */
async function report(db: AppDatabase, workers: string[] = []): Promise<Report> {
  const S = db.schemaPrefix;
  const statuses = await db.query<{ status: string; n: unknown }>(`SELECT status, COUNT(*) AS n FROM ${S}workflow_status WHERE queue_name = ? AND name = 'pageJob' GROUP BY status`, [QUEUE]);
  const count = (s: string) => Number(statuses.find((r) => r.status === s)?.n ?? 0);
  // The execution whose end was recorded (SUCCESS at that recovery attempt). A worker SIGKILLed after
  // its job's last line ran but before the end was recorded leaves a "done" row too: its work ran
  // (at least once, promise 3), but the job was taken over and ended by another execution.
  const recorded = new Map((await db.query<{ workflow_uuid: string; recovery_attempts: unknown }>(
    `SELECT workflow_uuid, recovery_attempts FROM ${S}workflow_status WHERE queue_name = ? AND name = 'pageJob' AND status = 'SUCCESS'`, [QUEUE],
  )).map((r) => [r.workflow_uuid, Number(r.recovery_attempts)]));
  const runs = (await db.query<Record<string, unknown>>('SELECT * FROM ex7_job_runs')).map((r) => ({
    page: Number(r.page), group: String(r.worker), start: Number(r.started_at), end: r.ended_at === null ? null : Number(r.ended_at),
    outcome: String(r.outcome) === 'done' && recorded.get(`ex7-page-${Number(r.page)}`) !== Number(r.attempt) ? 'done, end not recorded' : String(r.outcome),
  }));
  const inFlight = maxInFlightBy(runs);
  const perWorker: Report['perWorker'] = {};
  for (const w of workers) perWorker[w] = { jobs: 0, cutShort: 0, maxInFlight: 0 };
  for (const r of runs) {
    const w = (perWorker[r.group] ??= { jobs: 0, cutShort: 0, maxInFlight: 0 });
    w.maxInFlight = inFlight.by.get(r.group) ?? 0;
    if (r.outcome === 'done') w.jobs++;
    else w.cutShort++;
  }
  // A page cut short on one worker and finished on another: the takeover.
  const takenOver = runs.filter((r) => r.outcome !== 'done').map((r) => ({ page: r.page, from: r.group, to: runs.find((d) => d.page === r.page && d.outcome === 'done')?.group ?? '(none yet)' }));
  const donePages = runs.filter((r) => r.outcome === 'done').map((r) => r.page);
  const jobs = statuses.reduce((a, r) => a + Number(r.n), 0);
  const [{ n: users }] = await db.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM ex7_users');
  const exactlyOnce = donePages.length === jobs && new Set(donePages).size === jobs;
  const limitsHeld = inFlight.all <= 4 && Object.values(perWorker).every((w) => w.maxInFlight <= 2);
  return { jobs, success: count('SUCCESS'), exactlyOnce, users: Number(users), maxInFlight: inFlight.all, perWorker, limitsHeld, takenOver };
}

function printReport(r: Report, seed: number): void {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`${'worker'.padEnd(18)}${pad('jobs run', 9)}${pad('cut short', 11)}${pad('most in flight', 16)}`);
  for (const [w, v] of Object.entries(r.perWorker).sort()) console.log(`${w.padEnd(18)}${pad(v.jobs, 9)}${pad(v.cutShort, 11)}${pad(v.maxInFlight, 16)}   (workerConcurrency 2)`);
  const cut = Object.values(r.perWorker).reduce((a, v) => a + v.cutShort, 0);
  console.log(`${'all workers'.padEnd(18)}${pad(r.success, 9)}${pad(cut, 11)}${pad(r.maxInFlight, 16)}   (globalConcurrency 4)`);
  console.log('(4 slots for 3 workers of 2: a worker asks again as soon as one of its jobs ends, so a late one may find them all taken)');
  for (const t of r.takenOver) console.log(`page ${t.page}: cut short on ${t.from}, taken over and finished by ${t.to}`);
  console.log(`end state: ${r.success} SUCCESS of ${r.jobs}${r.exactlyOnce ? ', each exactly once' : ', NOT each exactly once'}; users stored: ${r.users}; limits ${r.limitsHeld ? 'held' : 'EXCEEDED'}`);
  console.log(`RESULT: ${JSON.stringify({ ...r, seed })}`);
}

// Step 6: which part to run.
async function main(): Promise<void> {
  if (flag('--worker')) return worker();
  if (flag('--enqueue') || flag('--report') || flag('--reset')) {
    const client = await openClient();
    try {
      if (flag('--reset')) await resetTables(client.systemDatabase.app);
      // The jobs' tables before the jobs: a worker already up claims a job at once, and the job writes there.
      else if (flag('--enqueue')) await createTables(client.systemDatabase.app);
      if (flag('--enqueue')) await enqueueJobs(client, Number(argv[argv.indexOf('--enqueue') + 1]) || JOBS_DEFAULT);
      if (flag('--report')) printReport(await report(client.systemDatabase.app), faults.seed);
    } finally {
      await client.destroy();
    }
    return;
  }
  await lesson();
}

main().catch((err) => {
  process.stderr.write(`FAILED: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
