/**
 * ex1: a workflow made of checkpointed steps
 * ==========================================
 *
 * What it shows
 *   The smallest durable workflow: three steps (empty the users table, insert page 0, insert
 *   page 1) and a count. Each step's outcome is written to the system database before the next
 *   step starts (a checkpoint; the last one in the same commit as the workflow's end: docs/DESIGN.md
 *   promise 15), so the workflow could be stopped between any two steps and resumed later without
 *   doing a finished step again. Nothing fails here: ex2 to ex6 break it.
 *
 * Run it
 *   npx tsx experiments/ex1.ts                      # SQLite, data/ex1.db
 *   WORKBOOK_DB=pg npx tsx experiments/ex1.ts       # embedded PostgreSQL in data/pg
 *   DATABASE_URL=postgres://u:p@host/db npx tsx experiments/ex1.ts   # your own server
 *
 * What it prints (lines of a real run, in order, as test/57 checks them; "..." and <id> stand for what varies)
 *   | workflow <id> started
 *   | page 0: 10 users inserted
 *   | page 1: 10 users inserted
 *   | RESULT: 20
 *   Run it again: the workflow truncates first, so it prints 20 again, never 40.
 *
 * Look at the tables afterwards
 *   sqlite3 data/ex1.db "SELECT workflow_uuid, status, recovery_attempts FROM workflow_status"
 *   sqlite3 data/ex1.db "SELECT function_id, function_name, output FROM operation_outputs"
 *   sqlite3 data/ex1.db "SELECT name, workflow_id, analyzed_at, created_at FROM users LIMIT 5"
 *   On PostgreSQL the system tables are dbos.workflow_status and dbos.operation_outputs and the
 *   users are in ex1.users.
 *
 * Why it works
 *   Every run starts a new workflow (a new random id), so every run does all three steps. Had we
 *   started it with a fixed workflow id, the second run would have returned the first run's result
 *   without running anything (promise 1 of docs/DESIGN.md: an id runs once).
 */
import { fakeUsers, UsersTable } from '../lib/index.js';
import { appDatabase, DBOS } from '../lib/engine-choice.js';
import { runLesson } from '../lib/lesson.js';
import { DATABASE_FLAGS } from '../lib/lesson-input.js';

const users = () => new UsersTable(appDatabase());

// Step 1: the steps. Each is a plain async function, registered so the engine records its outcome.
const resetUsers = DBOS.registerStep(async function resetUsers() {
  await users().create();
  await users().truncate();
});

// This step generates a page AND inserts it: harmless here, a trap when the step is retried (ex2).
const insertPage = DBOS.registerStep(async function insertPage(page: number, analyzedAt: string) {
  const list = fakeUsers(page);
  await users().insertPage(list, DBOS.workflowID!, analyzedAt);
  return list.length;
});

const countUsers = DBOS.registerStep(async function countUsers() {
  return users().count();
});

// Step 2: the workflow. Its code between steps must be deterministic: it runs again on recovery.
const usersWorkflow = DBOS.registerWorkflow(async function usersWorkflow() {
  const analyzedAt = new Date().toISOString();
  await resetUsers();
  for (const page of [0, 1]) {
    const n = await insertPage(page, analyzedAt);
    console.log(`page ${page}: ${n} users inserted`);
  }
  return countUsers();
});

// Step 3: launch the engine, start the workflow, wait for its result.
await runLesson('ex1', async () => {
  const handle = await DBOS.startWorkflow(usersWorkflow)();
  console.log(`workflow ${handle.workflowID} started`);
  const count = await handle.getResult();
  console.log(`RESULT: ${count}`);
}, { flags: DATABASE_FLAGS });
