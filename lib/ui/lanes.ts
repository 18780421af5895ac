// The web timeline's lanes: one per execution of the workflow (execution attempt 1 = the first run,
// 2 = the first recovery...), built on timelineModel() (lib/harness/timeline.ts), the same model
// `npm run wf -- steps` prints. Each recorded step is a bar in the lane of the execution that
// recorded it:
//   ran          recorded by this execution, on its first attempt
//   retried      ran more than once in this execution (a step retry) before its outcome was recorded
//   failed       its recorded outcome is an error (after every attempt)
//   rerun        the first step a recovery recorded: the execution before it died without recording
//                it, so it may have run there too (ex6 crashes after a write, before the checkpoint)
// and each step an earlier execution recorded is replayed by a later one (its outcome read back,
// its function not run), drawn in the later lane at the moment it took over.
import type { TimelineModel } from '../harness/timeline.js';
import { printable } from '../printable.js';
import type { WorkflowRow } from '../storage/types.js';

export type StepKind = 'ran' | 'retried' | 'failed' | 'rerun';

export interface Lane {
  attempt: number;
  /** only the latest execution's executor is kept (workflow_status.executor_id); null for the others */
  executorKey: string | null;
  /** functionIDs this execution recorded, with how each ran */
  recorded: { functionID: number; kind: StepKind }[];
  /** functionIDs of earlier executions' steps this one replayed */
  replayed: number[];
  /** true when it recorded nothing: it replayed at most `replayed` and died or was parked before its next record */
  silent: boolean;
  /** recovery had taken over by then (its first record's start); null for the first run or a silent one */
  takeover: number | null;
  /** its last record's end */
  lastEnd: number | null;
}

export function lanesOf(w: WorkflowRow, model: TimelineModel): Lane[] {
  const ops = model.sorted;
  const maxRecorded = Math.max(0, ...ops.map((o) => o.executionAttempt ?? 0));
  const count = Math.max(w.recoveryAttempts, maxRecorded, ops.length ? 1 : 0);
  const lanes: Lane[] = [];
  for (let attempt = 1; attempt <= count; attempt++) {
    // Rows older than execution_attempt (null) belong to the first lane.
    const mine = ops.filter((o) => (o.executionAttempt ?? 1) === attempt);
    const earlier = ops.filter((o) => (o.executionAttempt ?? 1) < attempt);
    const firstNew = mine.length ? Math.min(...mine.map((o) => o.functionID)) : Infinity;
    const replayed = earlier.filter((o) => o.functionID < firstNew).map((o) => o.functionID).sort((a, b) => a - b);
    const recorded = mine.map((o) => ({
      functionID: o.functionID,
      kind: (o.error !== null ? 'failed' : attempt > 1 && o.functionID === firstNew && earlier.length ? 'rerun' : o.attempts > 1 ? 'retried' : 'ran') as StepKind,
    }));
    lanes.push({
      attempt, executorKey: attempt === w.recoveryAttempts && w.executorID ? w.executorID : null, recorded, replayed, silent: !mine.length,
      takeover: attempt > 1 && mine.length ? Math.min(...mine.map((o) => o.startedAtEpochMs)) : null,
      lastEnd: mine.length ? Math.max(...mine.map((o) => o.completedAtEpochMs)) : null,
    });
  }
  return lanes.map((l) => ({ ...l, executor: l.executorKey === null ? null : printable(l.executorKey) }));
}
