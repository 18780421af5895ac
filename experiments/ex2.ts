/**
 * ex2: step retries, and why a step must not generate and insert at once
 * ======================================================================
 *
 * What it shows
 *   One step, with retries allowed (3 attempts, 0.2 s then 0.4 s apart), generates a page of 10
 *   users AND inserts it, then throws a simulated error on every attempt but the last. The step
 *   reads its attempt from DBOS.stepStatus ({ currentAttempt, maxAttempts }, 1-based as DBOS
 *   TypeScript; Python's step_status.current_attempt is 0-based). The engine retries it, the
 *   retry generates the same users (page 0 is always the same 10 people) and inserts them again
 *   with the same workflow id and analyzed_at, and the database refuses: the unique key
 *   (id, workflow_id, analyzed_at) already holds them. The last attempt never gets to succeed.
 *
 * Run it
 *   npx tsx experiments/ex2.ts                      # SQLite, data/ex2.db
 *   WORKBOOK_DB=pg npx tsx experiments/ex2.ts       # embedded PostgreSQL (or: npx tsx experiments/ex2.ts --pg)
 *   DATABASE_URL=postgres://u:p@host/db npx tsx experiments/ex2.ts   # your own server
 *
 * What it prints (lines of a real run, in order, as test/57 checks them; "..." and <id> stand for what varies)
 *   | attempt 1/3 at +0.00 s: inserting page 0 (10 users)
 *   | attempt 1/3: inserted, now failing on purpose; next attempt in 0.20 s (backoff)
 *   | attempt 2/3 at +0.21 s: inserting page 0 (10 users)
 *   | attempt 2/3: the database refused: UNIQUE constraint failed: users.id, users.workflow_id, users.analyzed_at
 *   | attempt 3/3 at +0.62 s: inserting page 0 (10 users)
 *   | attempt 3/3: the database refused: UNIQUE constraint failed: ...
 *   | workflow <id>: status ERROR
 *   | recorded error: Step insertPage has exceeded its maximum of 3 retries. Previous errors: ...
 *   | RESULT: {"workflowID":"<id>","status":"ERROR",...,"rows":10}
 *   (the times vary a little; on PostgreSQL the refusal reads: duplicate key value violates unique
 *   constraint "users_pkey"). It exits with code 1: the workflow failed, and that failure is the lesson.
 *
 * Why
 *   A retry runs the whole step again. The first attempt's insert was committed before the
 *   simulated error, so the step's side effect happened although its outcome is "failed". Three
 *   fixes, each of which makes a repeat harmless:
 *     1. Separate steps: one generates (safe to repeat), the workflow or another step inserts.
 *        ex4 does this.
 *     2. An idempotent insert: INSERT OR IGNORE (SQLite) / INSERT ... ON CONFLICT DO NOTHING
 *        (PostgreSQL), so a repeat writes nothing.
 *     3. Handle the violation in the step: catch the unique-key error and treat "already there"
 *        as success.
 *   The same holds for any step with a side effect: the engine promises at-least-once execution
 *   (docs/DESIGN.md, promise 3), so a step must be safe to run twice.
 *
 * Look at it afterwards
 *   sqlite3 data/ex2.db "SELECT status, error FROM workflow_status ORDER BY created_at DESC LIMIT 1"
 *   sqlite3 data/ex2.db "SELECT COUNT(*) FROM users"            # 10: attempt 1's rows stayed
 *   PostgreSQL: dbos.workflow_status, and ex2.users.
 */
import { backoffSeconds, fakeUsers, STEP_DEFAULTS, UsersTable } from '../lib/index.js';
import { appDatabase, DBOS } from '../lib/engine-choice.js';
import { EXIT_FAILED, runLesson } from '../lib/lesson.js';
import { DATABASE_FLAGS } from '../lib/lesson-input.js';

const users = () => new UsersTable(appDatabase(), 'run');
const RETRIES = { retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0.2, backoffRate: 2 };
const started = Date.now();
const since = () => ((Date.now() - started) / 1000).toFixed(2);
const waitAfter = (n: number) => backoffSeconds(n, { ...STEP_DEFAULTS, ...RETRIES }).toFixed(2);

// Step 1: empty the table, so each run starts from nothing.
const resetUsers = DBOS.registerStep(async function resetUsers() {
  await users().create();
  await users().truncate();
});

// Step 2: the trap. Generate AND insert in one step, then fail after the insert was committed.
const insertPage = DBOS.registerStep(
  async function insertPage(page: number, analyzedAt: string) {
    const { currentAttempt: n = 1, maxAttempts: max = 1 } = DBOS.stepStatus!; // set: retries are on
    const list = fakeUsers(page);
    console.log(`attempt ${n}/${max} at +${since()} s: inserting page ${page} (${list.length} users)`);
    try {
      await users().insertPage(list, DBOS.workflowID!, analyzedAt);
    } catch (err) {
      console.log(`attempt ${n}/${max}: the database refused: ${(err as Error).message}`);
      if (n < max) console.log(`  next attempt in ${waitAfter(n)} s (backoff)`);
      throw err;
    }
    // Fail on every attempt but the last: the last one would succeed, if the database let it.
    if (n < max) {
      console.log(`attempt ${n}/${max}: inserted, now failing on purpose; next attempt in ${waitAfter(n)} s (backoff)`);
      throw new Error(`Simulated error on attempt ${n} of ${max}, after the insert`);
    }
    return list.length;
  },
  RETRIES,
);

const countUsers = DBOS.registerStep(async function countUsers() {
  return users().count();
});

// Step 3: the workflow. analyzed_at is taken once per execution, so every retry of a step in this
// execution writes the same (id, workflow_id, analyzed_at) as the attempt before it.
const usersWorkflow = DBOS.registerWorkflow(async function usersWorkflow() {
  const analyzedAt = new Date().toISOString();
  await resetUsers();
  for (const page of [0, 1]) await insertPage(page, analyzedAt);
  return countUsers();
});

// Step 4: run it, and show what the engine recorded when the step ran out of attempts.
await runLesson('ex2', async () => {
  const handle = await DBOS.startWorkflow(usersWorkflow)();
  console.log(`workflow ${handle.workflowID} started`);
  try {
    const count = await handle.getResult();
    console.log(`RESULT: ${JSON.stringify({ workflowID: handle.workflowID, status: 'SUCCESS', rows: count })}`);
    console.log('The workflow succeeded, so the trap did not spring: was the users table changed?');
    return 0;
  } catch (err) {
    // The error the engine recorded, as getResult() rethrows it: DBOS's DBOSMaxStepRetriesError,
    // with every attempt's error in `errors`.
    const row = await handle.getStatus();
    const recorded = err as { message?: string; errors?: { message: string }[] };
    const errors = (recorded.errors ?? []).map((e) => e.message);
    const rows = await users().count(handle.workflowID);
    console.log(`\nworkflow ${handle.workflowID}: status ${row?.status}`);
    console.log(`recorded error: ${recorded.message}`);
    errors.forEach((m, i) => console.log(`  attempt ${i + 1}: ${m}`));
    console.log(`rows of this workflow in users: ${rows} (the first attempt's insert stayed: the step "failed" after writing)`);
    console.log(`RESULT: ${JSON.stringify({ workflowID: handle.workflowID, status: row?.status, error: recorded.message, errors, rows })}`);
    console.log('\nThis failure is the lesson: a retried step repeats its side effects. Exit code 1 says the workflow failed.');
    console.log('The fix: a step that only generates, with the insert done by the workflow (npx tsx experiments/ex4.ts).');
    return EXIT_FAILED;
  }
}, { flags: DATABASE_FLAGS });
