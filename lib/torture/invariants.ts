// The invariants the crash torture checks after every finished run of the counter workload
// (lib/torture/workload.ts), against the system database and the side-effect counter file:
//
//   1. every workflow started ended SUCCESS (and no other workflow exists);
//   2. each (workflow id, function id) has exactly one recorded outcome, function ids 0..n-1
//      without gaps, with the step names the code calls;
//   3. no step body ran after its outcome was recorded (counter line later than completed_at);
//      a step ran in more than one execution only where the earlier executions died before
//      recording it (their process is one the torture saw die): those are counted as re-runs;
//      the recording execution ran the body exactly `attempts` times (its retries), and it is the
//      one operation_outputs.execution_attempt names;
//   4. the result equals the crash-free run's result;
//   5. SQLite PRAGMA integrity_check is ok; every status is one docs/DESIGN.md names; no step row
//      without its workflow.
import { isDeepStrictEqual } from 'node:util';
import { WORKFLOW_STATUSES, type OperationRow, type SystemDatabase, type WorkflowRow } from '../storage/types.js';
import { expectedOperations, workflowIDs } from './workload.js';

const NAMED_STATUSES: ReadonlySet<string> = new Set(WORKFLOW_STATUSES);

export interface CounterLine {
  workflowID: string;
  functionID: number;
  execAttempt: number;
  stepAttempt: number;
  pid: number;
  at: number;
}

/** The counter file's lines; a line cut by a death (it should not happen: one write each) is counted apart. */
export function parseCounter(text: string): { lines: CounterLine[]; torn: number } {
  const lines: CounterLine[] = [];
  let torn = 0;
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    const f = raw.split(' ');
    const n = f.slice(1).map(Number);
    if (f.length !== 6 || n.some((x) => !Number.isInteger(x))) {
      torn++;
      continue;
    }
    lines.push({ workflowID: f[0], functionID: n[0], execAttempt: n[1], stepAttempt: n[2], pid: n[3], at: n[4] });
  }
  return { lines, torn };
}

export interface CheckInput {
  db: SystemDatabase;
  rootID: string;
  counterText: string;
  /** pids of the workload processes that died (SIGABRT or SIGKILL) */
  deadPids: Set<number>;
  result: unknown;
  reference: unknown;
}

export interface CheckOutcome {
  violations: string[];
  /** steps whose body ran in more than one execution because a death fell before the recording */
  reRuns: number;
  /** executions taken over after a death: the sum of recovery_attempts - 1 */
  recoveries: number;
  /** step attempts beyond the first, in the recording executions (seeded failures) */
  retries: number;
  torn: number;
}

type Raw = Record<string, unknown>;

/** Invariant 5, for any workload: the file is sound, every status is named, no orphan step rows. */
export async function checkStorage(db: SystemDatabase, bad: (msg: string) => void): Promise<void> {
  const S = db.app.schemaPrefix;
  if (db.dialect === 'sqlite') {
    const rows = await db.app.query<Raw>('PRAGMA integrity_check');
    const verdict = rows.map((r) => String(Object.values(r)[0])).join('; ');
    if (verdict !== 'ok') bad(`PRAGMA integrity_check: ${verdict}`);
  }
  for (const r of await db.app.query<Raw>(`SELECT status, COUNT(*) AS n FROM ${S}workflow_status GROUP BY status`)) {
    if (!NAMED_STATUSES.has(String(r.status))) bad(`${r.n} workflow row(s) in status "${r.status}", which the contract does not name`);
  }
  const orphans = await db.app.query<Raw>(
    `SELECT COUNT(*) AS n FROM ${S}operation_outputs o WHERE NOT EXISTS (SELECT 1 FROM ${S}workflow_status w WHERE w.workflow_uuid = o.workflow_uuid)`,
  );
  if (Number(orphans[0].n) > 0) bad(`${orphans[0].n} operation_outputs row(s) belong to no workflow`);
}

/** Invariant 1 for one workflow: it ended SUCCESS (or `allowed` lets it off). Returns its recoveries (recovery_attempts - 1). */
function endedSuccess(r: WorkflowRow, bad: (msg: string) => void, allowed?: (row: WorkflowRow) => boolean): number {
  if (r.status !== 'SUCCESS' && !allowed?.(r)) bad(`workflow ${r.workflowID} ended ${r.status}, not SUCCESS${r.error ? `: ${r.error}` : ''}`);
  return Math.max(0, r.recoveryAttempts - 1);
}

/**
 * Invariants 1 and 2 for any workload: every workflow SUCCESS (except those `allowed` to end
 * otherwise), function ids 0..n-1 once each. Returns the recoveries.
 */
export async function checkWorkflows(db: SystemDatabase, bad: (msg: string) => void, allowed?: (row: WorkflowRow) => boolean): Promise<number> {
  let recoveries = 0;
  for (const r of await db.listWorkflows({})) {
    recoveries += endedSuccess(r, bad, allowed);
    const fids = (await db.loadOperations(r.workflowID)).map((o) => o.functionID);
    if (fids.some((f, i) => f !== i)) bad(`${r.workflowID}: function ids recorded are [${fids.join(',')}] (a gap or a repeat)`);
  }
  return recoveries;
}

export async function checkRun(input: CheckInput): Promise<CheckOutcome> {
  const { db, rootID } = input;
  const out: CheckOutcome = { violations: [], reRuns: 0, recoveries: 0, retries: 0, torn: 0 };
  const bad = (msg: string) => out.violations.push(msg);

  await checkStorage(db, bad); // 5.

  // 1. Every workflow started ended SUCCESS, and there is no other.
  const expected = expectedOperations(rootID);
  const rows = await db.listWorkflows({});
  const ids = new Set(rows.map((r) => r.workflowID));
  for (const id of workflowIDs(rootID)) if (!ids.has(id)) bad(`workflow ${id} was never started`);
  for (const r of rows) {
    if (!expected.has(r.workflowID)) bad(`unexpected workflow ${r.workflowID} (${r.name}, ${r.status})`);
    out.recoveries += endedSuccess(r, bad);
    if (r.recoveryAttempts < 1) bad(`workflow ${r.workflowID} has recovery_attempts ${r.recoveryAttempts} (< 1)`);
  }

  // 2. One outcome per function id, no gaps, the right names.
  const ops = new Map<string, OperationRow>();
  for (const [id, names] of expected) {
    const list = await db.loadOperations(id);
    const seen = new Set<number>();
    for (const op of list) {
      if (seen.has(op.functionID)) bad(`${id} function ${op.functionID}: more than one recorded outcome`);
      seen.add(op.functionID);
      ops.set(`${id}#${op.functionID}`, op);
      if (op.error !== null) bad(`${id} function ${op.functionID}: recorded an error (${op.error})`);
    }
    const fids = list.map((o) => o.functionID).join(',');
    const want = names.map((_, i) => i).join(',');
    if (fids !== want) bad(`${id}: function ids recorded are [${fids}], expected [${want}] (a gap or an extra)`);
    for (const op of list) {
      const name = names[op.functionID];
      if (name && op.functionName !== name) bad(`${id} function ${op.functionID}: recorded ${op.functionName}, the code calls ${name}`);
      if (name === 'tortureChild' && op.childWorkflowID !== `${id}-${op.functionID}`) bad(`${id} function ${op.functionID}: child id ${op.childWorkflowID}`);
    }
  }

  // 3. The counter against the recordings.
  const { lines, torn } = parseCounter(input.counterText);
  out.torn = torn;
  const byStep = new Map<string, CounterLine[]>();
  for (const l of lines) {
    const key = `${l.workflowID}#${l.functionID}`;
    byStep.set(key, [...(byStep.get(key) ?? []), l]);
  }
  for (const key of byStep.keys()) {
    const op = ops.get(key);
    if (!op || op.functionName !== 'counterStep') bad(`${key}: the counter shows a step body run, but no step outcome is recorded there`);
  }
  for (const [key, op] of ops) {
    if (op.functionName !== 'counterStep') continue;
    const all = byStep.get(key) ?? [];
    const after = all.filter((l) => l.at > op.completedAtEpochMs);
    if (after.length) bad(`${key}: ran ${after.length} time(s) after its outcome was recorded (execution attempt(s) ${after.map((l) => l.execAttempt).join(',')})`);
    const before = all.filter((l) => l.at <= op.completedAtEpochMs);
    if (!before.length) {
      bad(`${key}: outcome recorded, but the counter never saw its body run`);
      continue;
    }
    const executions = [...new Set(before.map((l) => l.execAttempt))].sort((a, b) => a - b);
    const recorder = executions.at(-1)!;
    // The engine also stores which execution recorded the outcome (the fence's attempt): it must be
    // the last one the counter saw run the body, and no later execution may have run it.
    if (op.executionAttempt != null) {
      if (op.executionAttempt !== recorder) bad(`${key}: recorded by execution ${op.executionAttempt}, but the counter's last run before the recording is execution ${recorder}`);
      const later = all.filter((l) => l.execAttempt > op.executionAttempt!);
      if (later.length) bad(`${key}: ran in execution(s) ${later.map((l) => l.execAttempt).join(',')} after execution ${op.executionAttempt} recorded it`);
    }
    const recorderRuns = before.filter((l) => l.execAttempt === recorder).length;
    if (recorderRuns !== op.attempts) bad(`${key}: the recording execution ran the body ${recorderRuns} time(s), but ${op.attempts} attempt(s) are recorded`);
    out.retries += op.attempts - 1;
    for (const e of executions.slice(0, -1)) {
      const pids = new Set(before.filter((l) => l.execAttempt === e).map((l) => l.pid));
      for (const pid of pids) if (!input.deadPids.has(pid)) bad(`${key}: ran in execution ${e} (pid ${pid}), which did not record it and did not die`);
    }
    out.reRuns += executions.length - 1;
  }

  // 4. Same result as without crashes.
  if (!isDeepStrictEqual(input.result, input.reference)) {
    bad(`result ${JSON.stringify(input.result)} differs from the crash-free result ${JSON.stringify(input.reference)}`);
  }
  return out;
}
