// One torture run of the "messages" workload (lib/torture/messages-child.ts: a sender and a receiver
// workflow with sleep, setEvent, send and recv between steps) on one database: start it again and
// again (it aborts itself between any two operations and around each recording; we add SIGKILLs
// after a seeded delay) until it prints RESULT, then check against the database (checkMessages):
//   1. the generic invariants: integrity, named statuses, both workflows SUCCESS, each
//      (workflow id, function id) recorded once, ids without gaps, and the names the code calls;
//   2. messages: exactly MESSAGES rows sent to the receiver, one per i (a send recorded once sent
//      once), every one consumed, each by a different recv whose recorded outcome is that message,
//      and the receiver's result holds each i once;
//   3. events: one row per key the workflows set, written by the execution that recorded the
//      setEvent (its value carries the attempt: a replay that wrote it again shows);
//   4. sleeps: each wake-up time recorded once, as the recording execution's start + the duration
//      (a recovered sleep did not pick a new one), and honoured: the clock step after it ran at or
//      after it; each recv's durable timeout is its start + RECV_TIMEOUT_S, and a recv that returned
//      null (timed out; the receiver calls it again) did so no earlier than that;
//   5. step bodies: every recorded step ran, and ran in more than one process only where the
//      others died (re-runs before recording, counted).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OP } from '../messages/op.js';
import { deserialize } from '../serialize.js';
import { withDatabase } from '../storage/open.js';
import { freshDatabase, type FreshKind as TortureDb } from '../storage/fresh.js';
import type { OperationRow, SystemDatabase } from '../storage/types.js';
import { restartUntilResult } from './restarts.js';
import { checkStorage, checkWorkflows } from './invariants.js';
import { expectedNames, MESSAGES, messageIDs, RECV_TIMEOUT_S, SLEEP_MS } from './messages-layout.js';
import type { RunStats, TortureOptions } from './run-counter.js';

export const MESSAGES_PROGRAM = 'lib/torture/messages-child.ts';
const CRASH_SITES = ['torture-msg-between-ops', 'torture-msg-before-record', 'torture-msg-after-record'];

export interface MessagesResult { sent: number; received: { seed: number; got: number[] } }

type Raw = Record<string, unknown>;

/** Invariants 1 to 5 of one finished run; returns the step re-runs (bodies run again after a death before their recording). */
export async function checkMessages(db: SystemDatabase, root: string, effectsText: string, deadPids: Set<number>, result: MessagesResult | undefined, bad: (m: string) => void): Promise<number> {
  const S = db.app.schemaPrefix;
  const ids = messageIDs(root);
  await checkStorage(db, bad);
  await checkWorkflows(db, bad);
  const rows = await db.listWorkflows({});
  if (rows.map((r) => r.workflowID).sort().join() !== [ids.receiver, ids.sender].sort().join()) bad(`workflows ${rows.map((r) => r.workflowID).join(', ')}; expected ${ids.receiver} and ${ids.sender}`);
  const ops = { rx: withoutTimeouts(await db.loadOperations(ids.receiver), bad), tx: await db.loadOperations(ids.sender) };
  for (const who of ['rx', 'tx'] as const) {
    const want = expectedNames(who);
    const got = ops[who].map((o) => o.functionName);
    if (got.join() !== want.join()) bad(`${who === 'rx' ? ids.receiver : ids.sender}: recorded [${got.join(', ')}], the code calls [${want.join(', ')}]`);
    for (const o of ops[who]) if (o.error !== null) bad(`${o.workflowID}#${o.functionID} (${o.functionName}) recorded an error: ${o.error}`);
  }

  // 2. Messages.
  const notes = await db.app.query<Raw>(`SELECT message_uuid, message, consumed, consumed_by_function_id FROM ${S}notifications WHERE destination_uuid = ?`, [ids.receiver]);
  if (notes.length !== MESSAGES) bad(`${notes.length} messages were sent to the receiver, ${MESSAGES} sends are recorded`);
  const byI = new Map<number, number>();
  const consumers = new Map<number, string>();
  for (const n of notes) {
    const i = deserialize<{ i: number }>(String(n.message)).i;
    byI.set(i, (byI.get(i) ?? 0) + 1);
    if (!(n.consumed === true || Number(n.consumed) === 1)) bad(`message ${i} (${n.message_uuid}) was never consumed`);
    const fid = n.consumed_by_function_id === null ? null : Number(n.consumed_by_function_id);
    if (fid === null) continue;
    if (consumers.has(fid)) bad(`function ${fid} of the receiver consumed two messages`);
    consumers.set(fid, String(n.message));
    const recv = ops.rx.find((o) => o.functionID === fid);
    if (recv?.functionName !== OP.recv) bad(`message ${i} was consumed by function ${fid}, which recorded ${recv?.functionName ?? 'nothing'}, not ${OP.recv}`);
    else if (recv.output !== String(n.message)) bad(`message ${i}: the recv at function ${fid} recorded ${recv.output}, not the message it consumed`);
  }
  for (let i = 0; i < MESSAGES; i++) if (byI.get(i) !== 1) bad(`message ${i} was sent ${byI.get(i) ?? 0} times (once expected)`);
  const got = result?.received.got;
  if (result && (got?.length !== MESSAGES || [...got].sort((a, b) => a - b).some((x, k) => x !== k))) bad(`the receiver's result is [${got}], each of 0..${MESSAGES - 1} once expected`);

  // 3. Events, 4. sleeps.
  const events = new Map((await db.app.query<Raw>(`SELECT workflow_uuid, key, value FROM ${S}workflow_events`)).map((e) => [`${e.workflow_uuid} ${e.key}`, String(e.value)]));
  let k = 0;
  for (const [who, list] of [['rx', ops.rx], ['tx', ops.tx]] as const) {
    let n = 0;
    list.forEach((o, at) => {
      if (o.functionName === OP.setEvent) {
        const key = `${o.workflowID} ${who}-${n++}`;
        const text = events.get(key);
        events.delete(key);
        if (text === undefined) return bad(`${o.workflowID}#${o.functionID}: setEvent recorded, but event ${key} is not in workflow_events`);
        const attempt = deserialize<{ attempt: number }>(text).attempt;
        if (attempt !== o.executionAttempt) bad(`${key}: written by execution ${attempt}, but execution ${o.executionAttempt} recorded its setEvent (written again on a replay?)`);
      }
      if (o.functionName === OP.sleep) checkSleep(o, list[at - 1], list[at + 1], who, bad);
    });
    k += n;
  }
  for (const key of events.keys()) bad(`event ${key} was written, but no setEvent is recorded for it`);
  if (k !== 2 * MESSAGES) bad(`${k} setEvent operations recorded, ${2 * MESSAGES} expected`);

  // 5. Step bodies.
  const bodies = new Map<string, number[]>();
  for (const line of effectsText.split('\n').filter(Boolean)) {
    const [wf, fid, pid] = line.split(' ');
    bodies.set(`${wf}#${fid}`, [...(bodies.get(`${wf}#${fid}`) ?? []), Number(pid)]);
  }
  let reRuns = 0;
  for (const o of [...ops.rx, ...ops.tx].filter((x) => x.functionName === 'effect')) {
    const pids = bodies.get(`${o.workflowID}#${o.functionID}`) ?? [];
    bodies.delete(`${o.workflowID}#${o.functionID}`);
    if (!pids.length) bad(`${o.workflowID}#${o.functionID}: its outcome is recorded, but its body never ran`);
    if (pids.filter((p) => !deadPids.has(p)).length > 1) bad(`${o.workflowID}#${o.functionID}: its body ran in ${pids.length} processes that did not die (${pids.join(', ')})`);
    reRuns += Math.max(0, pids.length - 1);
  }
  for (const key of bodies.keys()) bad(`${key}: a step body ran where no step outcome is recorded`);
  return reRuns;
}

/**
 * The receiver's operations without its timed-out recvs (a null outcome and its deadline), which the
 * workflow follows with another recv: each must have waited for its recorded deadline (invariant 4).
 */
function withoutTimeouts(ops: OperationRow[], bad: (m: string) => void): OperationRow[] {
  const out: OperationRow[] = [];
  for (let at = 0; at < ops.length; at++) {
    const o = ops[at];
    const deadline = ops[at + 1];
    if (o.functionName !== OP.recv || o.output !== null || deadline?.functionName !== OP.sleep) {
      out.push(o);
      continue;
    }
    const wake = deserialize<number>(deadline.output);
    if (wake - deadline.startedAtEpochMs !== RECV_TIMEOUT_S * 1000) bad(`${o.workflowID}#${deadline.functionID}: recv deadline ${wake}, start ${deadline.startedAtEpochMs}: ${RECV_TIMEOUT_S} s apart expected`);
    if (o.completedAtEpochMs < wake) bad(`${o.workflowID}#${o.functionID}: recv returned null at ${o.completedAtEpochMs}, ${wake - o.completedAtEpochMs} ms before its recorded deadline`);
    at++; // its deadline too
  }
  return out;
}

/** Invariant 4 for one DBOS.sleep: its wake-up time is its start + the duration, and the clock step after it ran no earlier. */
function checkSleep(o: OperationRow, before: OperationRow | undefined, after: OperationRow | undefined, who: 'rx' | 'tx', bad: (m: string) => void): void {
  const wake = deserialize<number>(o.output);
  const ms = before?.functionName === OP.recv ? RECV_TIMEOUT_S * 1000 : SLEEP_MS[who];
  if (typeof wake !== 'number' || wake - o.startedAtEpochMs !== ms) bad(`${o.workflowID}#${o.functionID}: sleep recorded wake-up ${wake}, start ${o.startedAtEpochMs}: ${ms} ms apart expected`);
  if (before?.functionName === OP.recv) return; // a recv's timeout: the message came first
  const ranAt = after?.functionName === 'clock' ? deserialize<number>(after.output) : undefined;
  if (ranAt === undefined) bad(`${o.workflowID}#${o.functionID}: no clock step recorded after the sleep`);
  else if (ranAt < wake) bad(`${o.workflowID}#${o.functionID}: the workflow went on at ${ranAt}, ${wake - ranAt} ms before its recorded wake-up time`);
}

export async function runMessagesSeed(db: TortureDb, seed: number, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [], notes: [] };
  const place = await freshDatabase(db, 'torture', `m_s${seed}`, opts.pgAdminUrl);
  const root = `torture-msg-${seed}`;
  const effects = join(place.dir, 'effects.log');
  try {
    const { result, dead } = await restartUntilResult<MessagesResult>(db, seed, opts, stats, {
      program: MESSAGES_PROGRAM, crashSites: CRASH_SITES,
      killWindowMs: opts.killWindowMs[db] * 3, // a process lives longer here than the counter's: recv waits
      // Each process draws its faults from its own seed: with the run's seed each time, a replay would die where the last one did.
      env: (n) => ({ ...place.env, TORTURE_SEED: String(seed), WORKBOOK_SEED: String(seed * 1000 + n), TORTURE_WORKFLOW_ID: root, TORTURE_EFFECTS: effects }),
    });
    await withDatabase(place.choice, 'torture', 'torture-check', async (sys) => {
      const bad = (m: string) => stats.violations.push(m);
      stats.recoveries = (await sys.listWorkflows({})).reduce((n, r) => n + Math.max(0, r.recoveryAttempts - 1), 0);
      stats.reRuns = await checkMessages(sys, root, existsSync(effects) ? readFileSync(effects, 'utf8') : '', dead, result, bad);
    });
  } catch (err) {
    stats.violations.push(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = `${place.where} (effects: ${effects})`;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
