/**
 * ex10: waiting for a person, durably
 * ===================================
 *
 * What it shows
 *   A workflow asks for an approval and waits for the answer, for as long as its timeout says,
 *   whatever happens to the process that runs it:
 *   - it publishes the request as an event (DBOS.setEvent), which anyone can read with getEvent;
 *   - it waits for the answer with DBOS.recv('approval', timeoutSeconds). The deadline is recorded
 *     (a DBOS.sleep row) before it waits, so a restarted process waits only what is left;
 *   - the person answers with DBOS.send from another process, even while nobody runs the workflow.
 *   Part 1 crashes the process while the workflow waits, the person answers (twice, a double click:
 *   one idempotency key, so one message), the restarted process recovers the workflow, which
 *   receives the answer exactly once and decides. Part 2 crashes it again while it waits, lets the
 *   deadline pass with no answer, restarts: recv returns null at once and the request expires.
 *   Each part prints the system tables at each point: workflow_status, operation_outputs,
 *   notifications, workflow_events.
 *
 * Run it
 *   npx tsx experiments/ex10.ts                 (SQLite: data/ex10.db)
 *   WORKBOOK_DB=pg npx tsx experiments/ex10.ts  (embedded PostgreSQL)
 *   Settings: EX10_TIMEOUT_S=4 (part 2's timeout); the crash while waiting is the fault site
 *   crash-while-waiting (WORKBOOK_P_CRASH_WHILE_WAITING, default 1: always).
 *   The lesson runs itself as child processes in three roles (EX10_ROLE=wait|person|recover).
 *
 * What it prints (abridged; README.md has a whole run)
 *   Part 1, step 1: the workflow asks and waits; the process crashes while it waits
 *   WAITING: {"amount":1200,"purpose":"new laptop","askedAt":...,"timeoutS":30}
 *   [fault] CRASHING at crash-while-waiting ...
 *   workflow_status    approval-... PENDING recovery_attempts=1
 *   operation_outputs  0 askedAt, 1 DBOS.setEvent, 3 DBOS.sleep (the deadline of the recv at 2)
 *   notifications      (none)
 *   Part 1, step 2: the person answers from another process (twice: one message)
 *   notifications      approval {"approved":true,"by":"alice"} consumed=false
 *   Part 1, step 3: a restarted process recovers the workflow; it receives the answer once
 *   DECISION: {"status":"approved","by":"alice"}
 *   notifications      approval ... consumed=true by function 2
 *   Part 2: ... the deadline passes with nobody answering; recv returns null at once
 *   the recovered recv waited 1 ms, not another 4 s: its deadline was the recorded one
 *   RESULT: {"part1":{"decision":"approved","messages":1,"consumed":1,"recvs":1,"decides":1},
 *            "part2":{"decision":"expired","recvWaitedMs":1,"timeoutS":4}}
 *
 * Why exactly once
 *   The recv's consume (notifications.consumed = true) and the record of its outcome
 *   (operation_outputs, DBOS.recv) commit in one transaction, and only while this execution still
 *   owns the workflow (its executor id and recovery attempt: the fence). Crash before the commit:
 *   the message is still unconsumed and the recovery receives it. Crash after: the recovery finds
 *   the recorded recv and replays it, without touching notifications. Two executions at once: the
 *   older one is fenced out, its transaction rolls back (test/65-messages.test.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DBOS, databaseFromEnv, Faults } from '../lib/index.js';
import { runFile } from '../lib/child-run.js';
import { deserialize } from '../lib/serialize.js';
import { withDatabase } from '../lib/storage/open.js';
import type { SystemDatabase } from '../lib/storage/types.js';

interface Request { amount: number; purpose: string }
interface Answer { approved: boolean; by: string }
const ROLE = process.env.EX10_ROLE;
const ID = process.env.EX10_WORKFLOW_ID ?? '';

// ---- The workflow (runs in the roles `wait` and `recover`) ----
const decide = DBOS.registerStep(async function decide(answer: Answer | null) {
  return answer === null ? { status: 'expired' } : { status: answer.approved ? 'approved' : 'rejected', by: answer.by };
});

const approvalWorkflow = DBOS.registerWorkflow(async function approvalWorkflow(request: Request, timeoutS: number) {
  const askedAt = await DBOS.runStep(async () => Date.now(), { name: 'askedAt' });
  await DBOS.setEvent('approval_request', { ...request, askedAt, timeoutS });
  const answer = await DBOS.recv<Answer>('approval', timeoutS); // durable: the deadline is recorded first
  const decision = await decide(answer);
  await DBOS.setEvent('approval_status', decision);
  return decision;
});

// ---- The roles, each a process of its own ----
async function waitRole(): Promise<void> {
  const faults = new Faults({ 'crash-while-waiting': 1 });
  await DBOS.startWorkflow(approvalWorkflow, { workflowID: ID })({ amount: 1200, purpose: 'new laptop' }, Number(process.env.EX10_TIMEOUT));
  // Anyone can read the request; here the process that started it waits until it is out.
  console.log(`WAITING: ${JSON.stringify(await DBOS.getEvent(ID, 'approval_request', 30))}`);
  await sleep(300); // the recv has recorded its deadline by now and polls for the answer
  faults.crashHere('crash-while-waiting');
}

async function personRole(): Promise<void> {
  const request = await DBOS.getEvent<Request>(ID, 'approval_request', 10);
  console.log(`the person reads the request from another process: ${JSON.stringify(request)}`);
  for (let click = 1; click <= 2; click++) await DBOS.send<Answer>(ID, { approved: true, by: 'alice' }, 'approval', `answer-${ID}`);
  console.log('SENT: the answer, twice with one idempotency key');
}

async function recoverRole(): Promise<void> {
  console.log(`DECISION: ${JSON.stringify(await DBOS.retrieveWorkflow(ID).getResult())}`);
}

// ---- The lesson: runs the roles, prints the tables between them ----
async function table(db: SystemDatabase, sql: string, id: string): Promise<Record<string, unknown>[]> {
  return db.app.query(sql.replaceAll('{S}', db.app.schemaPrefix), [id]);
}

async function show(db: SystemDatabase, id: string): Promise<{ messages: number; consumed: number; recvs: number; decides: number }> {
  const [wf] = await table(db, 'SELECT status, recovery_attempts FROM {S}workflow_status WHERE workflow_uuid = ?', id);
  console.log(`  workflow_status    ${id} ${wf?.status} recovery_attempts=${wf?.recovery_attempts}`);
  const ops = await table(db, 'SELECT function_id, function_name, output, execution_attempt FROM {S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id', id);
  for (const [i, o] of ops.entries())
    console.log(`  ${i ? ' '.repeat(17) : 'operation_outputs'}  ${o.function_id} ${String(o.function_name).padEnd(14)} ${String(o.output ?? '').slice(0, 48).padEnd(48)} (execution ${o.execution_attempt})`);
  const msgs = await table(db, 'SELECT topic, message, consumed, consumed_by_function_id FROM {S}notifications WHERE destination_uuid = ?', id);
  if (!msgs.length) console.log('  notifications      (none)');
  for (const m of msgs) console.log(`  notifications      ${m.topic} ${m.message} consumed=${Number(m.consumed) === 1}${m.consumed_by_function_id === null ? '' : ` by function ${m.consumed_by_function_id}`}`);
  for (const e of await table(db, 'SELECT key, value FROM {S}workflow_events WHERE workflow_uuid = ? ORDER BY key', id)) console.log(`  workflow_events    ${e.key} = ${e.value}`);
  return {
    messages: msgs.length, consumed: msgs.filter((m) => Number(m.consumed) === 1).length,
    recvs: ops.filter((o) => o.function_name === 'DBOS.recv').length, decides: ops.filter((o) => o.function_name === 'decide').length,
  };
}

async function role(name: string, id: string, timeoutS: number) {
  const r = await runFile('experiments/ex10.ts', { args: process.argv.slice(2), env: { EX10_ROLE: name, EX10_WORKFLOW_ID: id, EX10_TIMEOUT: String(timeoutS) }, timeoutMs: 120_000 });
  for (const line of r.stdout.split('\n').filter(Boolean)) console.log(`  [${name}] ${line}`);
  for (const line of r.stderr.split('\n').filter((l) => l.startsWith('[fault]') || /FAILED|BAD INPUT/.test(l))) console.log(`  [${name}] ${line}`);
  return r;
}

async function lesson(): Promise<void> {
  const choice = databaseFromEnv('ex10');
  await withDatabase(choice, 'ex10', 'ex10-tables', async (db) => {
    const run = Date.now().toString(36);
    // Part 1: the answer comes while nobody runs the workflow.
    const id1 = `approval-${run}-1`;
    console.log('Part 1, step 1: the workflow asks and waits (timeout 30 s); the process crashes while it waits');
    const w = await role('wait', id1, 30);
    if (w.signal !== 'SIGABRT') throw new Error(`the waiting process should have crashed (exit ${w.code}, ${w.signal}): ${w.stderr.slice(-400)}`);
    await show(db, id1);
    console.log('Part 1, step 2: the person answers from another process (twice, one idempotency key: one message)');
    await role('person', id1, 30);
    await show(db, id1);
    console.log('Part 1, step 3: a restarted process recovers the workflow; it receives the answer once and decides');
    const r1 = await role('recover', id1, 30);
    const part1 = await show(db, id1);
    const d1 = JSON.parse(/^DECISION: (.*)$/m.exec(r1.stdout)?.[1] ?? 'null') as { status: string } | null;

    // Part 2: nobody answers; the deadline passes while nobody runs the workflow.
    const timeoutS = Number(process.env.EX10_TIMEOUT_S ?? 4);
    const id2 = `approval-${run}-2`;
    console.log(`Part 2, step 1: another request with a timeout of ${timeoutS} s; the process crashes while it waits`);
    await role('wait', id2, timeoutS);
    const [deadline] = await table(db, `SELECT output FROM {S}operation_outputs WHERE workflow_uuid = ? AND function_name = 'DBOS.sleep'`, id2);
    const due = Number(deserialize(deadline?.output as string | null)); // stored as SuperJSON text, as DBOS stores it
    await show(db, id2);
    console.log(`Part 2, step 2: nobody answers; the recorded deadline (${new Date(due).toISOString()}) passes while nobody runs it`);
    while (Date.now() < due + 200) await sleep(100);
    console.log('Part 2, step 3: a restarted process recovers it; recv finds the deadline passed and returns null at once');
    const r2 = await role('recover', id2, timeoutS);
    await show(db, id2);
    const d2 = JSON.parse(/^DECISION: (.*)$/m.exec(r2.stdout)?.[1] ?? 'null') as { status: string } | null;
    // How long the recovered recv waited: from its start to its record, in that execution.
    const [recv] = await table(db, `SELECT completed_at_epoch_ms - started_at_epoch_ms AS ms FROM {S}operation_outputs WHERE workflow_uuid = ? AND function_name = 'DBOS.recv'`, id2);
    const waited = Number(recv?.ms);
    console.log(`the recovered recv waited ${waited} ms, not another ${timeoutS} s: its deadline was the recorded one`);
    console.log(`RESULT: ${JSON.stringify({ part1: { decision: d1?.status, ...part1 }, part2: { decision: d2?.status, recvWaitedMs: waited, timeoutS } })}`);
  });
}

if (ROLE === undefined) {
  await lesson();
} else {
  // A role process: the person's is another application (it must not recover the workflow itself).
  const name = ROLE === 'person' ? 'ex10_person' : 'ex10';
  DBOS.setConfig({ name, database: databaseFromEnv('ex10') });
  try {
    await DBOS.launch();
    if (ROLE === 'wait') await waitRole();
    else if (ROLE === 'person') await personRole();
    else await recoverRole();
  } finally {
    await DBOS.shutdown();
  }
}
