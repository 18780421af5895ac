/**
 * ex4: the right step design
 * ==========================
 *
 * What it shows
 *   ex2's trap, fixed: the step only generates a page of users (safe to repeat), and the workflow
 *   code inserts it, with an analyzed_at taken afresh on each execution of the workflow. The step
 *   still fails on its first attempt, as in ex2, and its retry is now harmless. The process still
 *   crashes after page 1 with probability 0.5, as in ex3. A recovered execution replays the
 *   generate steps from their checkpoints but runs the workflow code again, so it inserts page 1
 *   again, under the same workflow id with a new analyzed_at: the unique key (id, workflow_id,
 *   analyzed_at) never refuses it.
 *
 * Run it
 *   npm run loop -- ex4                               # until it finishes (SQLite)
 *   npm run loop -- ex4 --pg                          # PostgreSQL (or WORKBOOK_DB=pg, DATABASE_URL)
 *   while ! npx tsx experiments/ex4.ts; do echo "Restarting..."; sleep 1; done
 *   Settings as ex3: WORKBOOK_SEED, WORKBOOK_P_CRASH_AFTER_PAGE_1, WORKBOOK_WAIT_MS, --resume <id>.
 *
 * What it prints (npm run loop -- ex4; lines of a real run, in order, as test/57 checks them; "..." and <id> stand for what varies)
 *   | execution begins: analyzed_at = 2025-06-01T10:00:00.000Z
 *   | step generateUsers(1), attempt 1/2: failing on purpose, before any write
 *   | step generateUsers(1), attempt 2/2: 10 users generated
 *   | page 1: 10 rows inserted by the workflow code
 *   | [fault] CRASHING at crash-after-page-1 seed=1 attempt=1 draw=1 p=0.5
 *   | --- loop: run 1 crashed (SIGABRT)
 *   | page 1: 10 rows inserted by the workflow code
 *   | page 2: 10 rows inserted by the workflow code
 *   | rows of workflow <id> by analyzed_at:
 *   |   2025-06-01T10:00:00.000Z   10   left by a crashed execution
 *   |   2025-06-01T10:00:02.000Z   20   this execution
 *   | RESULT: {"workflowID":"<id>","how":"recovered","attempt":2,"users":20,"leftover":10,"total":30,"executions":2}
 *   "users" counts the rows of the execution that finished: always 20. "leftover" counts the rows
 *   that crashed executions left behind: 10 per crash after page 1.
 *
 * ex2 and ex4 side by side
 *   |                         | ex2 (the trap)                  | ex4 (this lesson)                |
 *   |-------------------------|---------------------------------|----------------------------------|
 *   | the step                | generates AND inserts           | only generates                   |
 *   | the insert              | in the step                     | in the workflow code             |
 *   | a step retry            | inserts again: unique violation | generates again: harmless        |
 *   | analyzed_at on a rerun  | the same (one per execution)    | new for each execution           |
 *   | result                  | ERROR                           | 20 users                         |
 *
 * What ex4 still leaves
 *   The rows of a crashed execution stay in the table: after one crash after page 1 the table
 *   holds 30 rows for this workflow, 10 of them from the dead execution. Counting "the users of
 *   this workflow" is no longer a plain COUNT(*). That is the problem ex6 solves (deduplication
 *   with a window function). Writing from workflow code is also outside the engine's promises: it
 *   is not checkpointed, which is exactly why it repeats.
 */
import { fakeUsers, UsersTable, type User } from '../lib/index.js';
import { appDatabase, DBOS } from '../lib/engine-choice.js';
import { EXIT_FAILED, faultsOrExit, findOrStart, RESUMING_FLAGS, resultOrParked, runLesson } from '../lib/lesson.js';

const APP = 'ex4';
const NAME = 'usersWorkflow';
const faults = faultsOrExit({ 'crash-after-page-1': 0.5 });
const users = () => new UsersTable(appDatabase(), 'run');

// Step 1: the steps. None of them writes users, so a retry or a replay cannot duplicate anything.
const resetUsers = DBOS.registerStep(async function resetUsers() {
  await users().create();
  await users().truncate();
  console.log('step resetUsers: users table emptied');
});

// Fails on every attempt but the last, as ex2's step did: here the retry is harmless.
const generateUsers = DBOS.registerStep(
  async function generateUsers(page: number): Promise<User[]> {
    const { currentAttempt: n = 1, maxAttempts: max = 1 } = DBOS.stepStatus!; // set: retries are on
    if (n < max) {
      console.log(`step generateUsers(${page}), attempt ${n}/${max}: failing on purpose, before any write`);
      throw new Error(`Simulated error on attempt ${n} of ${max}`);
    }
    const list = fakeUsers(page);
    console.log(`step generateUsers(${page}), attempt ${n}/${max}: ${list.length} users generated`);
    return list;
  },
  { retriesAllowed: true, maxAttempts: 2, intervalSeconds: 0.2 },
);

const countUsers = DBOS.registerStep(async function countUsers(analyzedAt: string) {
  const rows = await appDatabase().query<{ mine: unknown; n: unknown }>(
    'SELECT SUM(CASE WHEN analyzed_at = ? THEN 1 ELSE 0 END) AS mine, COUNT(*) AS n FROM users WHERE workflow_id = ?',
    [analyzedAt, DBOS.workflowID!],
  );
  const [mine, total] = [Number(rows[0].mine ?? 0), Number(rows[0].n)];
  return { users: mine, leftover: total - mine, total };
});

// Step 2: the workflow. Everything here but the steps runs again on each execution: the clock
// read, the inserts and the crash draw.
const usersWorkflow = DBOS.registerWorkflow(
  async function usersWorkflow() {
    const analyzedAt = new Date().toISOString(); // afresh on each execution, on purpose
    console.log(`execution begins: analyzed_at = ${analyzedAt}`);
    await resetUsers();
    const page1 = await generateUsers(1);
    await users().insertPage(page1, DBOS.workflowID!, analyzedAt);
    console.log(`page 1: ${page1.length} rows inserted by the workflow code`);
    faults.crashHere('crash-after-page-1');
    const page2 = await generateUsers(2);
    await users().insertPage(page2, DBOS.workflowID!, analyzedAt);
    console.log(`page 2: ${page2.length} rows inserted by the workflow code`);
    return countUsers(analyzedAt);
  },
  { name: NAME, maxRecoveryAttempts: 3 },
);

// Step 3: find the workflow a crashed run left behind, or start a new one (findOrStart in
// lib/lesson.ts; ex3 explains each case).
type Result = { users: number; leftover: number; total: number };

// Step 4: launch, decide, wait, and show every execution's rows.
function showParked(id: string): number {
  console.log(`\nworkflow ${id} is parked (MAX_RECOVERY_ATTEMPTS_EXCEEDED): see ex3 for how to inspect it.`);
  console.log(`Resume it on purpose: WORKBOOK_P_CRASH_AFTER_PAGE_1=0 npx tsx experiments/ex4.ts --resume ${id}`);
  console.log(`DEAD_LETTER: ${id}`);
  return EXIT_FAILED;
}

await runLesson(APP, async () => {
  console.log(faults.describe());
  const found = await findOrStart<Result>(NAME, () => DBOS.startWorkflow(usersWorkflow)());
  if ('parked' in found) return showParked(found.parked);
  const { handle, how } = found;
  const got = await resultOrParked(handle);
  if ('parked' in got) return showParked(got.parked); // parked by this launch, found out a moment later
  const result = got.result;
  const row = await handle.getStatus();
  const groups = await appDatabase().query<{ analyzed_at: string; n: unknown }>(
    'SELECT analyzed_at, COUNT(*) AS n FROM users WHERE workflow_id = ? GROUP BY analyzed_at ORDER BY analyzed_at',
    [handle.workflowID],
  );
  console.log(`\nworkflow ${handle.workflowID}: ${row?.status} at execution attempt ${row?.recoveryAttempts}`);
  console.log(`rows of workflow ${handle.workflowID} by analyzed_at:`);
  groups.forEach((g, i) => console.log(`  ${g.analyzed_at}  ${String(Number(g.n)).padStart(3)}   ${i === groups.length - 1 ? 'this execution' : 'left by a crashed execution'}`));
  if (result.leftover > 0) console.log(`${result.leftover} rows are leftovers of crashed executions: ex6 shows how to count through them.`);
  console.log(`RESULT: ${JSON.stringify({ workflowID: handle.workflowID, how, attempt: row?.recoveryAttempts, ...result, executions: groups.length })}`);
}, { flags: RESUMING_FLAGS });
