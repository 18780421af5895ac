/**
 * ex12: a worker that wakes up too late
 * ======================================
 *
 * What it shows
 *   A checkout workflow charges a card in a slow step (a payment provider taking its time), then
 *   marks the order paid; if the charge fails, it marks the order payment-failed. Worker A runs it
 *   and is paused (SIGSTOP: a GC pause, a frozen VM, a laptop lid) in the middle of the charge, for
 *   longer than its lease. Worker B sees a PENDING workflow whose owner stopped beating, takes it
 *   over, runs it again from the top and finishes it. Then A wakes (SIGCONT) and finishes the
 *   charge it was in. So:
 *   - the charge step's BODY RAN TWICE, once in each process: no lease can prevent that, because a
 *     paused process cannot know it is paused;
 *   - ONE OUTCOME IS RECORDED: A's checkpoint write of the charge, made before its next step's
 *     body may run (promise 15), is refused by the fence (the row names B's execution attempt
 *     now), so the records stay right and A runs no further step;
 *   - what A does next is printed from what it really did (its step bodies after waking);
 *   - the receiver saw TWO CHARGES without a key, ONE with the fix: an idempotency key made from
 *     the workflow id and the function id (`${DBOS.workflowID}:${DBOS.stepID}`), the same in every
 *     execution of the step, checked by the receiver (a UNIQUE column, INSERT ... ON CONFLICT).
 *   It plays the story twice: part 1 without the key, part 2 with it.
 *
 * Run it
 *   npx tsx experiments/ex12.ts              # SQLite (data/ex12.db)
 *   npx tsx experiments/ex12.ts --pg         # embedded PostgreSQL (or WORKBOOK_DB=pg, DATABASE_URL=...)
 *   Settings: EX12_LEASE_MS=1000 (the workers' lease), EX12_SLOW_MS=2500 (the charge's slow part).
 *   Takes 15-40 s (more on a busy machine): each part starts two workers and waits out a lease.
 *
 * What it prints (pids and ids vary)
 *   Part 1: without an idempotency key
 *   [A] BODY-START chargeCard pid=101 ...           Step 2: A paused (SIGSTOP) inside the charge
 *   Step 3: ... B takes it over: [B] BODY-START chargeCard pid=102, [B] BODY-START markOrder paid
 *   Step 4: A woken (SIGCONT): [A] BODY-END chargeCard ... [A] CAUGHT before markOrder: WorkflowFencedError ...
 *   the charge step's body ran 2 times (pids 101, 102); 1 outcome recorded (by execution attempt 2)
 *   the receiver holds 2 payment(s) for the order
 *   after waking, A ... (what it did, read from its own lines)
 *   Part 2: with the key: ... the receiver holds 1 payment(s); A's repeat was refused as a duplicate
 *   RESULT: {"naive":{...,"chargeBodyRuns":2,"recordedCharges":1,"payments":2},"keyed":{...,"payments":1}}
 *
 * Why
 *   A lease says when the others may take over, not when the owner stops: the owner only finds out
 *   at its next write to the database, and the fence (every write carries the execution attempt it
 *   belongs to) refuses it. Everything between that the step body does outside the database -- the
 *   charge -- happens anyway. So a side effect outside the system database must be idempotent at
 *   the receiver, with a key that every execution of the step computes the same: the workflow id
 *   and the function id. (A key from the pid, a timestamp or a random id would differ in B.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { runFile, type ChildRun } from '../lib/child-run.js';
import { databaseFromEnv, DBOS } from '../lib/index.js';
import { openDatabase } from '../lib/storage/open.js';

const APP = 'ex12';
const whole = (name: string, dflt: number) => {
  const raw = process.env[name] ?? String(dflt);
  if (!/^\d{1,6}$/.test(raw)) {
    process.stderr.write(`BAD INPUT: ${name}=${raw} is not a number of milliseconds: give a whole number, e.g. ${name}=${dflt}.\n`);
    process.exit(2);
  }
  return Number(raw);
};
const LEASE_MS = whole('EX12_LEASE_MS', 1000);
const SLOW_MS = whole('EX12_SLOW_MS', 2500);
const say = (line: string) => console.log(line);

// Step 1: the receiver (a payment provider, here a table in the lesson's database) and the steps.
// With a key, the receiver charges once per key and answers a repeat with the first payment.
async function receiver(order: string, amount: number, key: string | null): Promise<{ payment: string; repeat: boolean }> {
  const app = DBOS.appDatabase;
  const id = `pay-${process.pid}-${Date.now()}`;
  const got = await app.query<{ id: string }>(
    'INSERT INTO payments (id, order_id, amount, idempotency_key, charged_by_pid) VALUES (?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id',
    [id, order, amount, key, process.pid],
  );
  if (got.length) return { payment: id, repeat: false };
  const first = await app.query<{ id: string }>('SELECT id FROM payments WHERE idempotency_key = ?', [key]);
  return { payment: first[0].id, repeat: true };
}

const chargeCard = DBOS.registerStep(async function chargeCard(order: string, amount: number, useKey: boolean) {
  say(`BODY-START chargeCard pid=${process.pid} attempt=${(await DBOS.getWorkflowStatus(DBOS.workflowID!))?.recoveryAttempts}`);
  await sleep(SLOW_MS); // the provider is slow: this is where worker A gets paused
  const key = useKey ? `${DBOS.workflowID}:${DBOS.stepID}` : null;
  const r = await receiver(order, amount, key);
  say(`BODY-END chargeCard pid=${process.pid} key=${key ?? 'none'} receiver=${r.repeat ? 'duplicate' : 'charged'} payment=${r.payment}`);
  return r.payment;
});

const markOrder = DBOS.registerStep(async function markOrder(order: string, status: string) {
  say(`BODY-START markOrder ${status} pid=${process.pid}`);
  await DBOS.appDatabase.query('UPDATE orders SET status = ?, set_by_pid = ? WHERE id = ?', [status, process.pid, order]);
});

const checkout = DBOS.registerWorkflow(async function checkout(order: string, amount: number, useKey: boolean) {
  let payment: string;
  try {
    payment = await chargeCard(order, amount, useKey);
  } catch (err) {
    say(`CAUGHT chargeCard pid=${process.pid}: ${(err as Error).name}: ${(err as Error).message}`);
    await markOrder(order, 'payment-failed');
    throw err;
  }
  try {
    // The charge's checkpoint is written before this step's body runs (docs/DESIGN.md promise 15):
    // an execution that lost the workflow meanwhile is refused there, and stops before markOrder runs.
    await markOrder(order, 'paid');
  } catch (err) {
    say(`CAUGHT before markOrder pid=${process.pid}: ${(err as Error).name}: ${(err as Error).message}`);
    throw err;
  }
  return { order, payment };
});

// Step 2 (in each worker process): launch with a short lease, start or attach to the order's
// workflow (idempotent by id: B attaches to A's, after launch() took it over), print its outcome.
async function worker(order: string, useKey: boolean): Promise<void> {
  DBOS.setConfig({ name: APP, executorLeaseMs: LEASE_MS });
  await DBOS.launch();
  const recovery = DBOS.lastRecovery();
  if (recovery.recovered.length) say(`RECOVERED pid=${process.pid}: ${recovery.recovered.map((h) => h.workflowID).join(', ')}`);
  try {
    const handle = await DBOS.startWorkflow(checkout, { workflowID: order })(order, 1999, useKey);
    say(`OUTCOME: ${JSON.stringify({ pid: process.pid, result: await handle.getResult() })}`);
  } catch (err) {
    say(`OUTCOME: ${JSON.stringify({ pid: process.pid, error: `${(err as Error).name}: ${(err as Error).message}` })}`);
  } finally {
    await DBOS.shutdown();
  }
}

/** Starts a worker; its lines are echoed as "[A] ..." and kept with the time they came. */
function startWorker(tag: string, order: string, useKey: boolean, lines: { at: number; text: string }[], onLine?: (l: string, c: ChildProcess) => void) {
  const args = ['--worker', order, useKey ? 'keyed' : 'naive', ...(process.argv.includes('--pg') ? ['--pg'] : [])];
  return runFile('experiments/ex12.ts', {
    args, timeoutMs: 120_000,
    onLine: (l, c) => {
      lines.push({ at: Date.now(), text: l });
      console.log(`  [${tag}] ${l}`);
      onLine?.(l, c);
    },
  });
}

// Step 3: one part of the story, from the lesson's process.
async function part(useKey: boolean, tag: string): Promise<Record<string, unknown>> {
  const order = `order-${Date.now().toString(36)}-${tag}`;
  await app().batch([{ sql: 'INSERT INTO orders (id, status) VALUES (?, ?)', params: [order, 'new'] }]);
  const a: { at: number; text: string }[] = [];
  const b: { at: number; text: string }[] = [];
  let paused: () => void = () => {};
  const inCharge = new Promise<void>((r) => (paused = r));
  say(`Step 1: worker A starts workflow ${order}`);
  let aChild: ChildProcess | undefined;
  const aRun = startWorker('A', order, useKey, a, (l, c) => {
    if (l.startsWith('BODY-START chargeCard') && !aChild) {
      aChild = c;
      c.kill('SIGSTOP'); // right inside the slow part of the charge
      paused();
    }
  });
  await Promise.race([inCharge, aRun]);
  if (!aChild) throw new Error(`worker A ended before its charge started:\n${(await aRun).stderr}`);
  say(`Step 2: worker A (pid ${aChild.pid}) paused with SIGSTOP inside chargeCard; its lease is ${LEASE_MS} ms`);
  await sleep(LEASE_MS + 500);
  say('Step 3: worker B starts, past A\'s lease: it finds the workflow PENDING, its owner silent, and takes it over');
  const bRun: ChildRun = await startWorker('B', order, useKey, b);
  const wokeAt = Date.now();
  say(`Step 4: worker B finished (exit ${bRun.code}); worker A woken with SIGCONT`);
  aChild.kill('SIGCONT');
  const aEnd = await aRun;
  return report(order, useKey, a, b, wokeAt, aEnd);
}

// Step 4: what happened, read from the workers' own lines and from the database.
async function report(order: string, useKey: boolean, a: { at: number; text: string }[], b: { at: number; text: string }[], wokeAt: number, aEnd: ChildRun) {
  const all = [...a, ...b].map((l) => l.text);
  const chargePids = all.filter((l) => l.startsWith('BODY-START chargeCard')).map((l) => Number(/pid=(\d+)/.exec(l)![1]));
  const ops = (await db.loadOperations(order)).filter((o) => o.functionName === 'chargeCard');
  const payments = await app().query<{ id: string; idempotency_key: string | null; charged_by_pid: unknown }>('SELECT id, idempotency_key, charged_by_pid FROM payments WHERE order_id = ?', [order]);
  const refused = all.filter((l) => l.startsWith('BODY-END chargeCard') && l.includes('receiver=duplicate')).length;
  const afterWake = a.filter((l) => l.at >= wokeAt).map((l) => l.text);
  const wokenSteps = afterWake.filter((l) => l.startsWith('BODY-START')).map((l) => l.split(' ').slice(1, 3).join(' ').replace(/ pid=.*/, ''));
  const fenced = afterWake.find((l) => l.startsWith('CAUGHT') && /Fenced|Cancelled/.test(l));
  const orderRow = (await app().query<{ status: string; set_by_pid: unknown }>('SELECT status, set_by_pid FROM orders WHERE id = ?', [order]))[0];
  const wf = await db.getWorkflow(order);
  say(`\n  the charge step's body ran ${chargePids.length} time(s), in pid(s) ${chargePids.join(', ')}`);
  say(`  outcomes recorded for it: ${ops.length} (by execution attempt ${ops.map((o) => o.executionAttempt ?? '?').join(', ')}); the workflow is ${wf?.status}`);
  say(`  the receiver holds ${payments.length} payment(s) for the order${useKey ? `; ${refused} repeat(s) refused by the key` : ' (no key: it cannot tell a repeat)'}`);
  say(`  after waking, A ${fenced ? `learnt at its checkpoint write that it lost the workflow (${fenced.replace(/^CAUGHT .*? pid=\d+: /, '')})` : 'saw no refused write'}`);
  say(wokenSteps.length
    ? `  and then went on: it ran the body of ${wokenSteps.join(', ')} anyway (nothing it did was recorded, but it happened: the order is now "${orderRow?.status}", set by pid ${orderRow?.set_by_pid})`
    : `  and then stopped: it ran no further step body; the order stays "${orderRow?.status}"`);
  say(`  A's own answer: ${(afterWake.find((l) => l.startsWith('OUTCOME: ')) ?? `none (exit ${aEnd.code}, ${aEnd.signal})`).replace('OUTCOME: ', '')}`);
  return {
    order, chargeBodyRuns: chargePids.length, chargeBodyPids: new Set(chargePids).size, recordedCharges: ops.length,
    recordedByAttempt: ops[0]?.executionAttempt ?? null, workflowStatus: wf?.status, payments: payments.length, repeatsRefused: refused,
    wokenFenced: Boolean(fenced), wokenStepsAfterFence: wokenSteps, orderStatus: orderRow?.status, workerExits: [aEnd.code],
  };
}

// The lesson's own view of the database: the tables, and the system tables to read the records.
let opened: Awaited<ReturnType<typeof openDatabase>> | undefined;
let db: Awaited<ReturnType<typeof openDatabase>>['db'];
const app = () => db.app;

if (process.argv[2] === '--worker') {
  await worker(process.argv[3], process.argv[4] === 'keyed');
} else {
  try {
    opened = await openDatabase(databaseFromEnv(APP), APP, 'ex12-lesson');
    db = opened.db;
    await app().exec(`CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL, set_by_pid INTEGER);
      CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount INTEGER NOT NULL, idempotency_key TEXT UNIQUE, charged_by_pid INTEGER NOT NULL)`);
    say(`ex12 on ${db.description}`);
    say('\nPart 1: without an idempotency key');
    const naive = await part(false, 'naive');
    say('\nPart 2: with an idempotency key (workflow id : function id), checked by the receiver');
    const keyed = await part(true, 'keyed');
    say(`RESULT: ${JSON.stringify({ naive, keyed })}`);
  } catch (err) {
    process.stderr.write(`\nFAILED: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await opened?.db.close();
    await opened?.release();
  }
}
