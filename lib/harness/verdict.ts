// The invariants checked after each crash and recovery, against the reference run (the same
// workflow, same arguments, no crash). Each problem is one sentence that names what differed.
//   1. the process died at the crash point, and the recovery finished
//   2. same final status and result as the reference
//   3. the same outcomes recorded: one per function id, no gaps, the same step names
//   4. a step recorded before the death did not run again (promise 2)
//   5. a step not recorded before the death ran again on recovery (promise 3): noted, not a failure;
//      whether the repeat was harmless is for the application's check and table counts to say
import { eventOf, eventsOf, howItEnded, tail, type ChildRun } from './spawn.js';
import { opKey, type CrashWhen, type Outcome, type RecordedState } from './protocol.js';

export interface Reference {
  outcome: Outcome;
  recorded: RecordedState;
  tableCounts: Record<string, number>;
}

export interface CrashPoint {
  workflowID: string;
  functionID: number;
  name: string;
  when: CrashWhen;
}

export interface Verdict {
  problems: string[];
  /** steps that ran in the crashed process and again on recovery */
  ranTwice: string[];
  /** outcomes recorded before the death (replayed on recovery) */
  replayed: number;
}

const show = (text: string | null) => (text === null ? 'nothing' : text.length > 200 ? `${text.slice(0, 200)}...` : text);

function outcomeText(o: Outcome): string {
  return o.status === 'SUCCESS' ? `SUCCESS with ${show(o.output)}` : `${o.status}${o.error ? ` (${o.error})` : ''}`;
}

/** Differences between two recorded states, in words. */
export function compareRecorded(expected: RecordedState, found: RecordedState): string[] {
  const problems: string[] = [];
  for (const [id, exp] of Object.entries(expected)) {
    const got = found[id];
    if (!got) {
      problems.push(`workflow ${id} (${exp.name}) is missing`);
      continue;
    }
    if (got.status !== exp.status) problems.push(`workflow ${id} ended ${got.status}, the reference ${exp.status}`);
    const ids = got.ops.map((o) => o.functionID);
    const gap = ids.findIndex((fid, i) => fid !== i);
    if (gap >= 0) problems.push(`workflow ${id}: function ids ${ids.join(', ')} are recorded: a gap at ${gap}`);
    const n = Math.max(exp.ops.length, got.ops.length);
    for (let i = 0; i < n; i++) {
      const e = exp.ops.find((o) => o.functionID === i);
      const g = got.ops.find((o) => o.functionID === i);
      const label = (o: typeof e) => (o ? `${o.name}${o.error !== null ? ` (failed: ${o.error})` : ''}` : 'nothing');
      if (label(e) !== label(g) || (e?.childWorkflowID ?? null) !== (g?.childWorkflowID ?? null)) {
        problems.push(`workflow ${id} function id ${i}: ${label(g)} is recorded, the reference recorded ${label(e)}`);
      }
    }
  }
  for (const [id, got] of Object.entries(found)) {
    if (!expected[id]) problems.push(`workflow ${id} (${got.name}) exists, the reference run made no such workflow (are child workflow ids deterministic?)`);
  }
  return problems;
}

/** The steps a child ran, by key, named as "step 1 (chargeCard)" (plus the workflow id when it is not the top one). */
function stepsRun(run: ChildRun, topID: string): Map<string, string> {
  return new Map(eventsOf(run, 'step').map((e) => [
    opKey(e.workflowID, e.functionID),
    `step ${e.functionID} (${e.name})${e.workflowID === topID ? '' : ` of workflow ${e.workflowID}`}`,
  ]));
}

export function judge(ref: Reference, topID: string, point: CrashPoint, crashed: ChildRun, recovered: ChildRun | undefined): Verdict {
  const problems: string[] = [];
  const v: Verdict = { problems, ranTwice: [], replayed: 0 };
  // 1. the death
  if (!eventOf(crashed, 'crashing')) {
    const bad = eventOf(crashed, 'bad-input');
    problems.push(bad ? bad.message
      : `the crash point was never reached (${howItEnded(crashed)}): the workflow took another path than in the reference run. ` +
        `Is the code between steps deterministic?\n${tail(crashed)}`);
    return v;
  }
  if (crashed.signal !== 'SIGABRT') problems.push(`the crashing process did not die by SIGABRT (${howItEnded(crashed)})`);
  if (!recovered) return v;
  const death = eventOf(recovered, 'recorded-at-death');
  const outcome = eventOf(recovered, 'outcome');
  if (!death || !outcome || recovered.code !== 0) {
    problems.push(`the recovery run did not finish (${howItEnded(recovered)})\n${tail(recovered)}`);
    return v;
  }
  // 2. the result
  if (outcomeText(outcome.outcome) !== outcomeText(ref.outcome)) {
    problems.push(`the result differs: ${outcomeText(outcome.outcome)}, the reference run ended ${outcomeText(ref.outcome)}`);
  }
  // 3. the records
  const final = eventOf(recovered, 'recorded');
  problems.push(...(final ? compareRecorded(ref.recorded, final.state) : ['the recovery run reported no records']));
  // 4 and 5. which steps ran where
  const atDeath = new Set(Object.entries(death.state).flatMap(([id, w]) => w.ops.map((o) => opKey(id, o.functionID))));
  v.replayed = atDeath.size;
  const crashKey = opKey(point.workflowID, point.functionID);
  if (point.when === 'after' && !atDeath.has(crashKey)) problems.push(`the outcome of step ${point.functionID} (${point.name}) was committed before the death, yet it is not recorded`);
  if (point.when === 'before' && atDeath.has(crashKey)) problems.push(`step ${point.functionID} (${point.name}) is recorded although the process died before recording it`);
  const statusAtDeath = death.state[point.workflowID]?.status;
  if (point.when === 'end' && statusAtDeath !== 'PENDING') problems.push(`workflow ${point.workflowID} is ${statusAtDeath} at the death, although the process died before writing its end`);
  const inRecovery = stepsRun(recovered, topID);
  for (const [key, what] of inRecovery) {
    if (atDeath.has(key)) problems.push(`${what} ran again on recovery although its outcome was recorded before the death`);
  }
  for (const [id, w] of Object.entries(ref.recorded)) {
    for (const o of w.ops) {
      const key = opKey(id, o.functionID);
      // DBOS.sleep, setEvent, send, recv and getEvent are the engine's operations, not step bodies: they report no step run.
      if (o.childWorkflowID === null && !o.name.startsWith('DBOS.') && !atDeath.has(key) && !inRecovery.has(key)) {
        problems.push(`step ${o.functionID} (${o.name}) of ${id} was not recorded before the death and did not run on recovery`);
      }
    }
  }
  const inCrash = stepsRun(crashed, topID);
  for (const [key, what] of inRecovery) if (inCrash.has(key)) v.ranTwice.push(what);
  // The application's own view: its check, and its tables against the reference.
  const check = eventOf(recovered, 'check');
  for (const p of check?.problems ?? ['the recovery run reported no check']) problems.push(`check: ${p}`);
  for (const [table, n] of Object.entries(ref.tableCounts)) {
    const got = check?.tableCounts[table];
    if (got !== undefined && got !== n) problems.push(`table ${table} has ${got} rows, the reference run left ${n}`);
  }
  return v;
}
