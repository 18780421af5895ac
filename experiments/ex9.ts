/**
 * ex9: the scheduled evaluation, once per slot with two schedulers and a crash
 * ===========================================================================
 *
 * What it shows
 *   The seeds' scheduled evaluation system: a workflow on a cron schedule (every 2 seconds here,
 *   `*\/2 * * * * *`; every two minutes in production) evaluates a batch through a flaky analytics
 *   API and publishes its status as an event. Two scheduler processes (A and B) run the same
 *   schedule. Each fires every slot, yet each slot runs once: the workflow id is derived from the
 *   schedule's name and the slot (`sched-<name>-<slot ISO time>`), so the second start of a slot
 *   attaches to the first. Per slot the workflow
 *   - gets the time it should have run (the slot) and the time it did (startedAt);
 *   - reports `skipped` when the previous slot's batch is still running;
 *   - calls the analytics API step: it fails with probability 0.3 (lib/faults.ts, seeded) and is
 *     retried (3 attempts, 0.2 s, x2); all three failing makes the batch `failed`;
 *   - publishes `batch_status` (triggered, then completed/skipped/failed, with processed,
 *     succeeded, failed and the scheduled time) with DBOS.setEvent;
 *   - writes one history row keyed by its workflow id (a step repeated after a crash rewrites it).
 *   Mid-way the lesson SIGKILLs A and restarts it 4 s later (A2): A's unfinished slot is recovered
 *   by A2; the slots A missed meanwhile were fired by B. After about 20 slots it stops both and
 *   prints the history: slot, actual start, delay, status, counts, which process ran it, and
 *   COUNT(*) per slot. Part 2: another process reads every slot's batch_status with DBOS.getEvent.
 *
 * Run it
 *   npx tsx experiments/ex9.ts                 (SQLite: data/ex9.db)
 *   WORKBOOK_DB=pg npx tsx experiments/ex9.ts  (embedded PostgreSQL)
 *   Settings: EX9_SLOTS=20 (slots to run), WORKBOOK_SEED=1, WORKBOOK_P_ANALYTICS_API=0.3,
 *   WORKBOOK_P_ITEM_FAILS=0.1. The lesson runs itself as child processes (EX9_ROLE=scheduler|reader).
 *   npm run wf -- schedules --app ex9 lists the schedule afterwards (PAUSED by the lesson's end).
 *
 * What it prints (abridged; README.md has a whole run)
 *   Step 1: schedulers A and B start; both apply schedule eval-<run> (*\/2 * * * * *)
 *   Step 2: after 8 slots, A was SIGKILLed in the middle of slot <time>; 4 s later it is restarted as A2
 *   Step 3: after 20 slots, A2 and B stop; the schedule is paused
 *   slot (scheduled)          actual start   delay    status     processed  ok  fail  ran by
 *   2026-12-01T21:47:50.000Z  21:47:50.003   3ms      completed  10         9   1     B
 *   2026-12-01T21:47:52.000Z  21:47:52.002   2ms      skipped    0          0   0     B
 *   ...
 *   2026-12-01T21:48:06.000Z  21:48:06.010   10ms     completed  14         11  3     A, recovered by A2
 *   ...
 *   COUNT(*) per slot: 1 for each of 20 slots (max 1)
 *   Part 2: another process reads batch_status of each slot with DBOS.getEvent
 *   RESULT: {"slots":20,"maxPerSlot":1,"completed":...,"skipped":...,"failed":...,"byProcess":{...},"eventsRead":20}
 *
 * Why once per slot
 *   Both schedulers start the slot's workflow under the same id, and starting an id that exists
 *   only attaches to it (promise 1): whichever inserts the workflow_status row first runs it. A
 *   slot whose process died stays PENDING with its owner gone and is recovered (A2's launch), not
 *   fired again. Missed slots (no process running) are skipped by default, as DBOS; the option
 *   automaticBackfill runs each of them once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { DBOS, databaseFromEnv, Faults } from '../lib/index.js';
import { runFile, type ChildRun } from '../lib/child-run.js';
import { withDatabase } from '../lib/storage/open.js';
import type { SystemDatabase } from '../lib/storage/types.js';

const ROLE = process.env.EX9_ROLE;
const SCHEDULE = process.env.EX9_SCHEDULE ?? '';
const NAME = process.env.EX9_NAME ?? '?';
const EVERY_S = 2;
const HISTORY = 'ex9_batches';

interface Status { status: 'triggered' | 'completed' | 'skipped' | 'failed'; processed: number; succeeded: number; failed: number; scheduledTime: string; startedAt: string; ranBy: string }

// ---- The scheduled workflow (runs in the scheduler processes) ----
const faults = new Faults({ 'analytics-api': 0.3, 'item-fails': 0.1 });

const previousStillRunning = DBOS.registerStep(async function previousStillRunning(scheduleName: string, slotMs: number) {
  const prev = await DBOS.getWorkflowStatus(`sched-${scheduleName}-${new Date(slotMs - EVERY_S * 1000).toISOString()}`);
  return prev?.status === 'PENDING';
});

const callAnalyticsApi = DBOS.registerStep(async function callAnalyticsApi(slotMs: number) {
  // The API's latency depends on the batch (some take longer than a slot: the next one skips).
  console.log(`API CALL ${new Date(slotMs).toISOString()}`); // the lesson kills A at one of these
  await sleep(300 + ((slotMs / 1000) * 7919 % 23) * 100);
  faults.failHere('analytics-api');
  const processed = 8 + ((slotMs / 1000) % 7);
  let failed = 0;
  for (let i = 0; i < processed; i++) if (faults.chance('item-fails').hit) failed++;
  return { processed, succeeded: processed - failed, failed };
}, { retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0.2, backoffRate: 2 });

const writeHistory = DBOS.registerStep(async function writeHistory(s: Status) {
  // Keyed by workflow id: a step repeated after a crash rewrites its row (ex4's lesson), never adds one.
  const id = DBOS.workflowID!;
  await DBOS.appDatabase.query(`DELETE FROM ${HISTORY} WHERE workflow_id = ?`, [id]);
  await DBOS.appDatabase.query(`INSERT INTO ${HISTORY} (workflow_id, slot, started_at, status, processed, succeeded, failed, ran_by, finished_by)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [id, s.scheduledTime, s.startedAt, s.status, s.processed, s.succeeded, s.failed, s.ranBy, NAME]);
  return NAME;
});

const batchEvaluation = DBOS.registerWorkflow(async function batchEvaluation(scheduled: Date, context: { schedule: string }, startedAt: Date) {
  const slotMs = new Date(scheduled).getTime();
  const base = { processed: 0, succeeded: 0, failed: 0, scheduledTime: new Date(scheduled).toISOString(), startedAt: new Date(startedAt).toISOString() };
  const ranBy = await DBOS.runStep(async () => NAME, { name: 'ranBy' });
  let s: Status;
  if (await previousStillRunning(context.schedule, slotMs)) {
    s = { status: 'skipped', ...base, ranBy };
  } else {
    await DBOS.setEvent('batch_status', { status: 'triggered', ...base, ranBy });
    try {
      s = { status: 'completed', ...base, ...(await callAnalyticsApi(slotMs)), ranBy };
    } catch {
      s = { status: 'failed', ...base, ranBy };
    }
  }
  await DBOS.setEvent('batch_status', s);
  await writeHistory(s);
  return s;
});

// ---- Roles ----
async function schedulerRole(): Promise<void> {
  await DBOS.applySchedules([{ scheduleName: SCHEDULE, workflowFn: batchEvaluation, schedule: `*/${EVERY_S} * * * * *`, context: { schedule: SCHEDULE } }]);
  console.log('SCHEDULER READY');
  // Runs the schedule until told to stop (a signal listener alone does not keep Node alive: a timer does).
  const keepAlive = setInterval(() => {}, 1000);
  await new Promise((r) => process.once('SIGTERM', r));
  clearInterval(keepAlive);
}

async function readerRole(): Promise<void> {
  // Another application (ex9_reader) on the same database: name the scheduler's application, as an
  // unset filter lists only this process's own (DBOS 5.x does the same).
  const runs = await DBOS.listWorkflows({ workflowName: 'batchEvaluation', applicationName: 'ex9' });
  let read = 0;
  for (const w of runs.filter((r) => r.workflowID.startsWith(`sched-${SCHEDULE}-`))) {
    const s = await DBOS.getEvent<Status>(w.workflowID, 'batch_status', 5);
    if (s) read++;
    console.log(`  ${w.workflowID.slice(-24)}  batch_status = ${JSON.stringify(s && { status: s.status, processed: s.processed, succeeded: s.succeeded, failed: s.failed })}`);
  }
  console.log(`EVENTS_READ: ${read}`);
}

// ---- The lesson ----
function spawnScheduler(name: string, run: string, onLine?: (line: string, child: ChildProcess) => void): { ready: Promise<ChildProcess>; done: Promise<ChildRun> } {
  let ready!: (c: ChildProcess) => void;
  const p = new Promise<ChildProcess>((r) => (ready = r));
  const done = runFile('experiments/ex9.ts', {
    args: process.argv.slice(2), env: { EX9_ROLE: 'scheduler', EX9_NAME: name, EX9_SCHEDULE: `eval-${run}` }, timeoutMs: 300_000,
    onLine: (line, child) => (line === 'SCHEDULER READY' ? ready(child) : onLine?.(line, child)),
  });
  done.then((r) => r.stderr.split('\n').filter((l) => l.startsWith('[fault]')).length && console.log(`  [${name}] ${r.stderr.split('\n').filter((l) => l.startsWith('[fault]')).length} injected API failures (retried)`));
  return { ready: p, done };
}

async function slotsStarted(db: SystemDatabase, schedule: string): Promise<number> {
  return (await db.listWorkflows({ workflowName: 'batchEvaluation' })).filter((w) => w.workflowID.startsWith(`sched-${schedule}-`)).length;
}

async function lesson(): Promise<void> {
  const slots = Number(process.env.EX9_SLOTS ?? 20);
  await withDatabase(databaseFromEnv('ex9'), 'ex9', 'ex9-tables', async (db) => {
    const run = Date.now().toString(36);
    const schedule = `eval-${run}`;
    for (const old of await db.listSchedules({ applicationName: 'ex9' })) await db.deleteSchedule(old.scheduleName); // an earlier run's
    await db.app.exec(`DROP TABLE IF EXISTS ${HISTORY}`);
    await db.app.exec(`CREATE TABLE ${HISTORY} (workflow_id TEXT PRIMARY KEY, slot TEXT NOT NULL, started_at TEXT NOT NULL,
      status TEXT NOT NULL, processed INTEGER, succeeded INTEGER, failed INTEGER, ran_by TEXT, finished_by TEXT)`);
    console.log(`Step 1: schedulers A and B start; both apply schedule ${schedule} (*/${EVERY_S} * * * * *)`);
    let armed = false;
    let killedIn = '';
    // Once armed, A dies in the middle of its next API call: that slot stays PENDING, owner gone.
    const a = spawnScheduler('A', run, (line, child) => {
      if (armed && !killedIn && line.startsWith('API CALL ')) (killedIn = line.slice(9)), child.kill('SIGKILL');
    });
    const b = spawnScheduler('B', run);
    const [childA, childB] = await Promise.all([a.ready, b.ready]);
    const killAt = Math.ceil(slots * 0.4);
    while ((await slotsStarted(db, schedule)) < killAt) await sleep(200);
    armed = true;
    const gaveUp = setTimeout(() => childA.kill('SIGKILL'), 30_000); // B may win every slot for a while
    await a.done;
    clearTimeout(gaveUp);
    console.log(`Step 2: after ${killAt} slots, A was SIGKILLed ${killedIn ? `in the middle of slot ${killedIn}` : 'between slots'}; 4 s later it is restarted as A2 (its unfinished slot is recovered there)`);
    await sleep(4000);
    const a2 = spawnScheduler('A2', run);
    const childA2 = await a2.ready;
    while ((await slotsStarted(db, schedule)) < slots) await sleep(200);
    console.log(`Step 3: after ${slots} slots, A2 and B stop (SIGTERM: each finishes the slots it runs); the schedule is paused`);
    await db.setScheduleStatus(schedule, 'PAUSED');
    childA2.kill('SIGTERM');
    childB.kill('SIGTERM');
    await Promise.all([a2.done, b.done]);

    const S = db.app.schemaPrefix;
    const rows = await db.app.query<Record<string, string | number>>(`SELECT h.slot, h.started_at, h.status, h.processed, h.succeeded, h.failed, h.ran_by, h.finished_by
       FROM ${HISTORY} h JOIN ${S}workflow_status w ON w.workflow_uuid = h.workflow_id WHERE h.workflow_id LIKE ? ORDER BY h.slot`, [`sched-${schedule}-%`]);
    console.log('\nslot (scheduled)          actual start   delay    status     processed  ok  fail  ran by');
    for (const r of rows) {
      const delay = Date.parse(String(r.started_at)) - Date.parse(String(r.slot));
      console.log(`${r.slot}  ${String(r.started_at).slice(11, 23)}   ${`${delay}ms`.padEnd(7)}  ${String(r.status).padEnd(9)}  ${String(r.processed).padEnd(9)}  ${String(r.succeeded).padEnd(2)}  ${String(r.failed).padEnd(4)}  ${r.ran_by === r.finished_by ? r.ran_by : `${r.ran_by}, recovered by ${r.finished_by}`}`);
    }
    const counts = await db.app.query<{ slot: string; n: number }>(`SELECT slot, COUNT(*) AS n FROM ${HISTORY} WHERE workflow_id LIKE ? GROUP BY slot ORDER BY slot`, [`sched-${schedule}-%`]);
    const maxPerSlot = Math.max(...counts.map((c) => Number(c.n)));
    console.log(`\nSELECT slot, COUNT(*) FROM ${HISTORY} GROUP BY slot: ${counts.length} slots, COUNT(*) = ${[...new Set(counts.map((c) => Number(c.n)))].join(', ')} (max ${maxPerSlot})`);
    const unfinished = await db.listWorkflows({ status: 'PENDING', workflowName: 'batchEvaluation' });

    console.log('\nPart 2: another process reads every slot\'s batch_status with DBOS.getEvent');
    const reader = await runFile('experiments/ex9.ts', { args: process.argv.slice(2), env: { EX9_ROLE: 'reader', EX9_SCHEDULE: schedule }, timeoutMs: 120_000 });
    process.stdout.write(reader.stdout.split('\n').filter((l) => !l.startsWith('EVENTS_READ')).join('\n'));
    const eventsRead = Number(/^EVENTS_READ: (\d+)/m.exec(reader.stdout)?.[1] ?? -1);
    const tally = (k: string) => rows.filter((r) => r.status === k).length;
    const byProcess = Object.fromEntries(['A', 'B', 'A2'].map((p) => [p, rows.filter((r) => r.ran_by === p).length]));
    const recovered = rows.filter((r) => r.ran_by !== r.finished_by).length;
    console.log(`RESULT: ${JSON.stringify({ slots: counts.length, maxPerSlot, completed: tally('completed'), skipped: tally('skipped'), failed: tally('failed'), byProcess, recovered, unfinished: unfinished.length, eventsRead, seed: faults.seed })}`);
  });
}

if (ROLE === undefined) {
  await lesson();
} else {
  // The reader is another application: its launch must not recover the schedulers' workflows.
  DBOS.setConfig({ name: ROLE === 'reader' ? 'ex9_reader' : 'ex9', database: databaseFromEnv('ex9') });
  try {
    await DBOS.launch();
    if (ROLE === 'scheduler') await schedulerRole();
    else await readerRole();
  } finally {
    await DBOS.shutdown();
  }
}
