/**
 * ex11: exactly once, with a transaction step (the fix for ex6)
 * ==============================================================
 *
 * What it shows
 *   ex6's workflow, ex6's faults, and no duplicate stored. 1,000 users in 100 pages of 10 (10
 *   batches of 10 pages). Per batch a generate step (fails with probability 0.02, retried), then
 *   each page is inserted by a TRANSACTION STEP (DBOS.registerTransaction): the page's rows and
 *   the step's checkpoint (its operation_outputs row) are written in one transaction on the one
 *   database that holds both, and commit together or not at all.
 *   - a failure after the write (probability 0.4, as ex6's): the transaction rolls back, the
 *     page's rows with it; the error is recorded as that step's outcome, and the workflow writes
 *     the page again as a new step (up to 10 tries per page, as ex6's retries);
 *   - from page 51 on (ex6's "from batch 6 on"), a crash right after the write, inside the
 *     transaction, before COMMIT (probability 0.02 per page write): the rows and the checkpoint die
 *     together, and the recovery writes the page once;
 *   - a crash right after COMMIT (probability 0.02 per page, from page 51): the recovery finds the
 *     checkpoint and replays the step, which does not run again.
 *   So the RAW count, SELECT COUNT(*) FROM users WHERE workflow_id = ?, is exactly 1,000: no window
 *   function, no DISTINCT, no key that refuses a repeat. The table keeps ex6's key (with
 *   created_at), which stores every repeat: if one were written, the raw count would show it.
 *
 *   Part 2, where a transaction cannot help: a side effect outside the database. After each batch
 *   a plain step sends a "welcome" message to a receiver (a file of JSON lines, as an HTTP API keeps
 *   requests: data/ex11-receiver.jsonl), then fails (0.4, retried) or crashes (0.05) before its
 *   checkpoint. The send is repeated, and nothing can roll it back. The receiver applies it once
 *   because each request carries an idempotency key, `<workflow id>:<function id>`: the same for
 *   every retry and every recovery of that step, different for every other step call.
 *
 * Run it (it crashes on purpose: run it in a loop until it exits 0)
 *   while ! npx tsx experiments/ex11.ts; do echo "Restarting..."; sleep 1; done
 *   npm run loop -- ex11                    # the same loop, with a summary of how each run ended
 *   PostgreSQL: WORKBOOK_DB=pg in front of either, or npm run loop -- ex11 --pg
 *   Settings: WORKBOOK_SEED (default 2: crashes before a COMMIT, after one and after a send),
 *   WORKBOOK_P_GENERATE=0.02, WORKBOOK_P_INSERT_AFTER_WRITE=0.4, WORKBOOK_P_CRASH_AFTER_WRITE=0.02,
 *   WORKBOOK_P_CRASH_AFTER_COMMIT=0.02, WORKBOOK_P_SEND_AFTER_DELIVER=0.4, WORKBOOK_P_CRASH_AFTER_SEND=0.05.
 *
 * What it prints (npm run loop -- ex11; [fault] lines go to stderr)
 *   STARTED: new workflow <id>
 *   batch 1: generated 100 users (attempt 1)
 *   page 7: rolled back (Simulated failure at insert-after-write ...): its rows are gone, ...
 *   batch 1: 10 pages committed, each with its checkpoint (1 write rolled back and done again)
 *   batch 1: welcome message sent (key <id>:12): applied
 *   ...  [fault] CRASHING at crash-after-write ...   the loop starts it again:
 *   RECOVERED: workflow <id> (execution attempt 2): launch() found it PENDING with its process gone
 *   RESUMING at page 63: pages 0-62 are replayed from their checkpoints; ...
 *   raw COUNT(*) of users             1000   ...
 *   RESULT: {"workflowID":"<id>","how":"recovered","attempt":6,"seed":2,"raw":1000,"unique":1000,...}
 *
 * Why the raw count is exact, and what ex6 needed instead
 *   ex6 wrote a page, and recorded that it had, in two commits. Between them a failure made the
 *   retry write the page again, and a crash made the recovery write it again: ex6 stored the
 *   repeats and counted around them with a window function,
 *     ROW_NUMBER() OVER (PARTITION BY id, workflow_id ORDER BY created_at DESC) ... WHERE rn = 1.
 *   Here there is one commit. A retry cannot find its own earlier rows (they were rolled back), and a
 *   recovery either replays a committed page or writes a page whose rows never committed.
 *   This works because the users table and the system tables are in the same database (the same
 *   SQLite file; the same PostgreSQL database, schemas ex11 and dbos). With the app's tables in
 *   another database there is no one transaction to put both in: see the README.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dataDir, DBOS, fakeUsers, UsersTable, type RecoveryReport, type User, type WorkflowHandle } from '../lib/index.js';
import { faultsOrExit, runLesson } from '../lib/lesson.js';
import { FileReceiver, idempotencyKey } from '../lib/receiver.js';

const APP = 'ex11';
const BATCHES = 10;
const PAGES_PER_BATCH = 10;
const FIRST_CRASH_PAGE = 50; // page 51 of 100, ex6's "after batch 5"
const PAGE_TRIES = 10; // ex6's maxAttempts
const faults = faultsOrExit({
  generate: 0.02, 'insert-after-write': 0.4, 'crash-after-write': 0.02, 'crash-after-commit': 0.02,
  'send-after-deliver': 0.4, 'crash-after-send': 0.05,
}, 2);
const users = () => new UsersTable(DBOS.appDatabase, 'row'); // inside a transaction step: its transaction
const receiver = new FileReceiver(join(dataDir(), 'ex11-receiver.jsonl'));
const RETRIES = { retriesAllowed: true, maxAttempts: 10, intervalSeconds: 0.01, backoffRate: 2, maxIntervalSeconds: 0.2 };

interface Counts { raw: number; unique: number }

// Step 1: say where this run starts (the first step body that runs in this process).
let resumedAt: number | undefined;
async function announce(page: number): Promise<void> {
  if (resumedAt !== undefined) return;
  resumedAt = page;
  const row = await DBOS.getWorkflowStatus(DBOS.workflowID!);
  if (row && (row.recoveryAttempts ?? 0) > 1) {
    const before = page > 0 ? `pages 0-${page - 1} are replayed from their checkpoints` : 'nothing was checkpointed';
    console.log(`RESUMING at page ${page}: ${before}; no page is written twice, a page whose COMMIT never happened has no rows`);
  }
}

// Step 2: the steps. resetUsers, generateBatch and countUsers are ex6's.
const resetUsers = DBOS.registerStep(async function resetUsers() {
  await users().create();
  await users().truncate();
  receiver.reset();
});

const generateBatch = DBOS.registerStep(async function generateBatch(batch: number): Promise<User[]> {
  await announce((batch - 1) * PAGES_PER_BATCH);
  faults.failHere('generate');
  const list: User[] = [];
  for (let p = 0; p < PAGES_PER_BATCH; p++) list.push(...fakeUsers((batch - 1) * PAGES_PER_BATCH + p));
  console.log(`batch ${batch}: generated ${list.length} users (attempt ${DBOS.stepStatus!.currentAttempt})`);
  return list;
}, RETRIES);

// The transaction step: the write, then ex6's failure and crash, all before COMMIT.
const ranHere = new Set<number>(); // pages whose transaction ran in this process (not replayed)
const insertPage = DBOS.registerTransaction(async function insertPage(page: number, list: User[], analyzedAt: string) {
  await announce(page);
  ranHere.add(page);
  await users().insertPage(list, DBOS.workflowID!, analyzedAt);
  if (page >= FIRST_CRASH_PAGE) faults.crashHere('crash-after-write'); // dies with the rows uncommitted
  faults.failHere('insert-after-write'); // rolls the rows back; recorded as this step's error
  return list.length;
});

// Part 2: a send that no transaction covers. The key makes the receiver apply it once.
const sendWelcome = DBOS.registerStep(async function sendWelcome(batch: number) {
  await announce(batch * PAGES_PER_BATCH); // the send of batch b comes after its pages
  const key = idempotencyKey();
  const outcome = receiver.deliver(`welcome, the ${PAGES_PER_BATCH * 10} users of batch ${batch}`, key);
  console.log(`batch ${batch}: welcome message sent (key ${key}, attempt ${DBOS.stepStatus!.currentAttempt}): ${outcome}`);
  faults.crashHere('crash-after-send');
  faults.failHere('send-after-deliver');
}, RETRIES);

const countUsers = DBOS.registerStep(async function countUsers(): Promise<Counts> {
  return { raw: await users().count(DBOS.workflowID!), unique: await users().countUnique(DBOS.workflowID!) };
});

// Step 3: the workflow. A failed page write is tried again as a new step (a new function id), so a
// replay meets the same recorded errors at the same places and takes the same path.
const isInjected = (err: unknown) => (err as { code?: string }).code === 'INJECTED';
const usersWorkflow = DBOS.registerWorkflow(async function usersWorkflow(): Promise<Counts> {
  const analyzedAt = new Date().toISOString();
  await resetUsers();
  for (let batch = 1; batch <= BATCHES; batch++) {
    const list = await generateBatch(batch);
    let rolledBack = 0;
    for (let i = 0; i < PAGES_PER_BATCH; i++) {
      const page = (batch - 1) * PAGES_PER_BATCH + i;
      for (let tryN = 1; ; tryN++) {
        try {
          await insertPage(page, list.slice(i * 10, i * 10 + 10), analyzedAt);
          break;
        } catch (err) {
          if (!isInjected(err) || tryN >= PAGE_TRIES) throw err;
          rolledBack++;
          await sleep(10); // as ex6's retries: at least 10 ms apart (its key has created_at, to the ms on SQLite)
          if (resumedAt !== undefined) console.log(`page ${page}: rolled back (${(err as Error).message}): its rows are gone, the error is its step's outcome; writing it again`);
        }
      }
      // The page and its checkpoint are in. (Not on a replayed page: that crash would find nothing new.)
      if (page >= FIRST_CRASH_PAGE && ranHere.has(page)) faults.crashHere('crash-after-commit');
    }
    if (resumedAt !== undefined) console.log(`batch ${batch}: ${PAGES_PER_BATCH} pages committed, each with its checkpoint (${rolledBack} writes rolled back and done again)`);
    await sendWelcome(batch);
  }
  return countUsers();
}, { name: 'usersWorkflow' });

// Step 4: recover what a crashed run left, or start a new workflow, and report.
function pick(recovery: RecoveryReport): { handle: WorkflowHandle<Counts>; how: 'recovered' | 'attached' } | undefined {
  const recovered = recovery.recovered[0] ?? undefined;
  if (recovered) return { handle: DBOS.retrieveWorkflow<Counts>(recovered.workflowID), how: 'recovered' };
  const elsewhere = recovery.ownedElsewhere[0];
  return elsewhere ? { handle: DBOS.retrieveWorkflow<Counts>(elsewhere), how: 'attached' } : undefined;
}

await runLesson(APP, async () => {
  const recovery = DBOS.lastRecovery();
  console.log(faults.describe());
  for (const id of recovery.parked) console.log(`workflow ${id} was parked (too many recoveries): leaving it, see ex3 for the dead letter`);
  let found: { handle: WorkflowHandle<Counts>; how: 'new' | 'recovered' | 'attached' } | undefined = pick(recovery);
  if (!found) {
    found = { handle: await DBOS.startWorkflow(usersWorkflow)(), how: 'new' };
    console.log(`STARTED: new workflow ${found.handle.workflowID}`);
  } else if (found.how === 'recovered') {
    const row = await found.handle.getStatus();
    console.log(`RECOVERED: workflow ${found.handle.workflowID} (execution attempt ${row?.recoveryAttempts}): launch() found it PENDING with its process gone`);
  } else {
    console.log(`ATTACHED: workflow ${found.handle.workflowID} is running in another live process: waiting for its result`);
  }
  const { handle, how } = found;
  const c = await handle.getResult();
  const row = await handle.getStatus();
  const steps = await DBOS.listWorkflowSteps(handle.workflowID);
  const rolledBack = steps.filter((s) => s.name === 'insertPage' && s.error).length;
  const sent = receiver.stats();
  console.log(`\nworkflow ${handle.workflowID}: ${row?.status} at execution attempt ${row?.recoveryAttempts} (${(row?.recoveryAttempts ?? 1) - 1} crashed before it)`);
  console.log(`raw COUNT(*) of users            ${String(c.raw).padStart(5)}   every row once: each page's rows committed with its checkpoint`);
  console.log(`unique users (ex6's window fn)   ${String(c.unique).padStart(5)}   ex6 needed ROW_NUMBER() OVER (PARTITION BY id, workflow_id) to see through its repeats; here there are none`);
  console.log(`page writes rolled back          ${String(rolledBack).padStart(5)}   failed after the write: rolled back with the page, recorded as the step's error`);
  console.log(`welcome messages sent            ${String(sent.requests).padStart(5)}   a send outside the database is repeated by retries and recoveries ...`);
  console.log(`  applied by the receiver        ${String(sent.applied).padStart(5)}   ... and applied once per batch, thanks to the key <workflow id>:<function id>`);
  console.log(`  refused as duplicates          ${String(sent.duplicates).padStart(5)}   without the key, each of these would have been applied again`);
  console.log(`RESULT: ${JSON.stringify({ workflowID: handle.workflowID, how, attempt: row?.recoveryAttempts, seed: faults.seed, ...c, rolledBack, sent: sent.requests, applied: sent.applied })}`);
});
