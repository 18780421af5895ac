/**
 * ex5: where does the time go?
 * ============================
 *
 * What it shows
 *   A main workflow starts 10 child batch workflows, one after the other. Each batch runs 10
 *   pages; a page is a step that generates 10 fake users, and the batch workflow inserts them
 *   (the insert is workflow code, as ex4 taught). 10 x 10 x 10 = 1,000 users. The program prints
 *   the count and the time taken, split into the lesson's own work (generating and inserting
 *   users) and the engine's overhead (checkpoint writes, workflow rows, JSON serialisation).
 *   Both parts are measured, not guessed: the lesson's functions are timed with performance.now(),
 *   every checkpoint write is timed through the engine's hooks (lib/engine.ts), and the rest of
 *   the engine is the remainder of the measured total. The batches run one at a time, so the
 *   times add up without overlap.
 *
 * Run it
 *   npx tsx experiments/ex5.ts                   # SQLite, data/ex5.db
 *   WORKBOOK_DB=pg npx tsx experiments/ex5.ts    # embedded PostgreSQL in data/pg
 *   npm run profile:cpu -- ex5                   # --cpu-prof, then a text summary in the terminal
 *   npm run profile:flame -- ex5                 # clinic flame: an HTML flame graph
 *   npm run profile:0x -- ex5                    # 0x: an HTML flame graph
 *   npm run profile:cpu -- ex5 --pg              # any of them on PostgreSQL (add --pg)
 *   Each profile goes into its own new folder profiles/<tool>-<time>-ex5/ (printed at the end).
 *   npm run profile:summary -- profiles/<that folder>   reads a .cpuprofile in the terminal.
 *
 * What it prints (one run on SQLite; lines of a real run, in order, as test/57 checks them; "..." and <id> stand for what varies: the milliseconds differ on every machine and run)
 *   | workflow <id>: 1000 users in 10 batch workflows of 10 pages (122 checkpoints)
 *   | total              116.0 ms
 *   | lesson's work       88.0 ms  ...%  (generate 51.0, insert 35.0, set-up and count 1.0)
 *   | engine overhead     28.0 ms  ...%  (checkpoint writes 9.0 in 122 writes, other 19.0: workflow rows, serialisation, bookkeeping)
 *   | RESULT: {"users":1000,"database":"sqlite","checkpoints":122,"ms":{...}}
 *   On PostgreSQL the same run takes about 300 ms warm (1 s when the server has just started):
 *   checkpoint writes grow to about 1 ms each, and the inserts to a few ms per page.
 *   122 checkpoints: 1 set-up step, 10 child starts, 10 awaited child results (DBOS.getResult, as
 *   DBOS records them) and 1 count in the main workflow, and 10 page steps in each of the 10 batches. The 11 workflows also write a row when they start and end.
 *
 * How to read the flame graph
 *   Each box is a function; its width is the CPU time spent in it and in what it called; a box
 *   sits on top of its caller. Look at the widest boxes near the top: that is where the CPU went.
 *   A run this short spends most of its CPU starting up (node:internal/modules, tsx compiling
 *   TypeScript): look for the lesson's boxes beside the start-up, under ex5.ts's top level.
 *   The frames come from six places (npm run profile:summary labels them the same way):
 *   - engine:  lib/engine.ts (runStep, record, startWorkflow), lib/retry.ts (withRetries),
 *              lib/storage/ (recordOperation, insertWorkflow), lib/serialize.ts;
 *   - lesson:  this file (usersBatchWorkflow, generatePage; esbuild may show them as
 *              usersBatchWorkflow2) and the lessons' data helpers lib/user.ts (fakeUsers) and
 *              lib/users-table.ts (insertPage);
 *   - faker:   node_modules/@faker-js/faker (fullName, lastName): generating users, the lesson's
 *              widest boxes;
 *   - driver:  node_modules/better-sqlite3 (sqliteTransaction), or node_modules/pg and
 *              pg-protocol (Client.query, Parser.parse, serialize). better-sqlite3's statements are
 *              C++, which a JavaScript profile cannot see into: SQLite's own time shows as self time
 *              of the function that called it (lib/storage/sqlite.ts, better-sqlite3's transaction);
 *   - node:    node:internal (processTicksAndRejections, where each `await` resumes), (garbage
 *              collector), (program), and (idle): time spent waiting, drawn as no box at all;
 *   - other:   tsx, esbuild, uuid, pure-rand.
 *
 * What to expect on each database, and why they differ
 *   SQLite runs inside this process and better-sqlite3 is synchronous: a checkpoint is a function
 *   call that returns when the row is in the file (WAL, synchronous=NORMAL: no fsync per commit).
 *   It costs about 0.1 ms, all of it CPU, so it is in the flame graph, under the engine's record
 *   and recordOperation. Faker's boxes are wider than the engine's: the work dominates.
 *   PostgreSQL is another process. Each checkpoint is a round trip: send the query, wait for the
 *   server to write its WAL and answer, parse the reply. While this process waits it does
 *   nothing, and a CPU profile shows waiting as (idle), not as a box: the flame graph looks about
 *   as thin as on SQLite, while the wall-clock total above is several times larger. The round
 *   trips (122 checkpoints, 22 workflow rows, 100 inserts) are the difference; the pg boxes that
 *   do show are the cost of building and parsing protocol messages. To make PostgreSQL faster,
 *   cut round trips (fewer, larger steps), not CPU. The terminal summary prints the idle time.
 *
 * Why it matters
 *   Durability is paid per checkpoint, not per user. A step that does 10 users of work pays
 *   the same write as a step that does 1,000: size steps so that the work dominates.
 */
import { performance } from 'node:perf_hooks';
import { fakeUsers, hooks, UsersTable, type User } from '../lib/index.js';
import { appDatabase, DBOS } from '../lib/engine-choice.js';
import { runLesson } from '../lib/lesson.js';
import { DATABASE_FLAGS } from '../lib/lesson-input.js';

const BATCHES = 10;
const PAGES_PER_BATCH = 10;

const users = () => new UsersTable(appDatabase());

// Step 1: the meters. The lesson's own functions add their time here; the workbook engine's hooks
// time every checkpoint write (a step's outcome, a child workflow's start, or its awaited result,
// into operation_outputs). DBOS Transact has no such hooks: there the writes are counted, not timed.
const ms = { generate: 0, insert: 0, setup: 0, checkpoint: 0, checkpoints: 0 };
async function timed<T>(key: 'generate' | 'insert' | 'setup', fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    ms[key] += performance.now() - t0;
  }
}
let recordStartedAt = 0;
hooks.beforeRecord = () => {
  recordStartedAt = performance.now();
};
hooks.afterRecord = () => {
  ms.checkpoint += performance.now() - recordStartedAt;
  ms.checkpoints++;
};

// Step 2: the steps. A page is a step that only generates; its result (10 users) is checkpointed.
const resetUsers = DBOS.registerStep(async function resetUsers() {
  await timed('setup', async () => {
    await users().create();
    await users().truncate();
  });
});

const generatePage = DBOS.registerStep(async function generatePage(page: number): Promise<User[]> {
  return timed('generate', () => fakeUsers(page));
});

const countUsers = DBOS.registerStep(async function countUsers() {
  return timed('setup', () => users().count());
});

// Step 3: the batch workflow: 10 pages, each generated by a step and inserted by the workflow.
const usersBatchWorkflow = DBOS.registerWorkflow(async function usersBatchWorkflow(batch: number, analyzedAt: string) {
  let inserted = 0;
  for (let p = 0; p < PAGES_PER_BATCH; p++) {
    const page = await generatePage(batch * PAGES_PER_BATCH + p);
    await timed('insert', () => users().insertPage(page, DBOS.workflowID!, analyzedAt));
    inserted += page.length;
  }
  return inserted;
});

// Step 4: the main workflow. DBOS.startWorkflow inside a workflow starts a child whose id is
// `${parent}-${functionID}`; awaiting each one before the next keeps the timings sequential.
const usersWorkflow = DBOS.registerWorkflow(async function usersWorkflow() {
  const analyzedAt = new Date().toISOString();
  await resetUsers();
  for (let b = 0; b < BATCHES; b++) {
    const child = await DBOS.startWorkflow(usersBatchWorkflow)(b, analyzedAt);
    await child.getResult();
  }
  return countUsers();
});

// Step 5: run it, and split the measured total.
await runLesson('ex5', async () => {
  const t0 = performance.now();
  const handle = await DBOS.startWorkflow(usersWorkflow)();
  const count = await handle.getResult();
  const total = performance.now() - t0;

  // Every checkpoint is a row of operation_outputs: the main workflow's and its children's (`<id>-<n>`).
  const [{ n: checkpoints }] = await appDatabase().query<{ n: unknown }>(
    `SELECT COUNT(*) AS n FROM ${appDatabase().schemaPrefix}operation_outputs WHERE workflow_uuid = ? OR workflow_uuid LIKE ?`,
    [handle.workflowID, `${handle.workflowID}-%`],
  );
  const lesson = ms.generate + ms.insert + ms.setup;
  const engine = total - lesson;
  const other = engine - ms.checkpoint;
  const f = (x: number) => x.toFixed(1).padStart(8);
  const pct = (x: number) => `${Math.round((100 * x) / total)}%`.padStart(4);
  console.log(`workflow ${handle.workflowID}: ${count} users in ${BATCHES} batch workflows of ${PAGES_PER_BATCH} pages (${Number(checkpoints)} checkpoints)`);
  console.log(`total           ${f(total)} ms`);
  console.log(`lesson's work   ${f(lesson)} ms ${pct(lesson)}  (generate ${ms.generate.toFixed(1)}, insert ${ms.insert.toFixed(1)}, set-up and count ${ms.setup.toFixed(1)})`);
  const writes = ms.checkpoints ? `checkpoint writes ${ms.checkpoint.toFixed(1)} in ${ms.checkpoints} writes, other ${other.toFixed(1)}` : 'checkpoint writes not timed on this engine';
  console.log(`engine overhead ${f(engine)} ms ${pct(engine)}  (${writes}: workflow rows, serialisation, bookkeeping)`);
  console.log(`database        ${appDatabase().dialect}`);
  const round = (x: number) => Math.round(x * 10) / 10;
  console.log('RESULT: ' + JSON.stringify({
    users: count, database: appDatabase().dialect, checkpoints: Number(checkpoints),
    ms: { total: round(total), lesson: round(lesson), engine: round(engine), generate: round(ms.generate), insert: round(ms.insert), checkpoint: round(ms.checkpoint) },
  }));
}, { flags: DATABASE_FLAGS });
