// The small terminal timeline of `npm run wf -- steps <id>`: one row per recorded step, placed on
// a time axis from the workflow's creation to its last update, grouped by the execution that
// recorded it (operation_outputs.execution_attempt: 1 = the first run, 2 = the first recovery...).
// A crash shows as a break between two runs; retries as a long bar with its attempt count.
import { isUnfinished, type OperationRow, type WorkflowRow } from '../storage/types.js';

/** 4 ms, 1.52 s, 3 min 20 s */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** "the first run and 2 recoveries" */
export function describeExecutions(n: number): string {
  if (n <= 0) return 'not executed since it was resumed';
  return n === 1 ? 'the first run' : `the first run and ${n - 1} recover${n === 2 ? 'y' : 'ies'}`;
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));

/** A break between two executions: the first stopped after its last record (a crash, a stop or a cancel), the next took over. */
export interface ExecutionGap {
  /** the execution that stopped (null: rows older than execution_attempt) */
  after: number | null;
  /** the execution that took over */
  before: number;
  /** executions between the two that recorded no step (died or were parked before their first record) */
  silent: number[];
  /** the stopped execution's last record ended (epoch ms) */
  start: number;
  /** the next execution's first record started (epoch ms): recovery had taken over by then */
  end: number;
  /** index in `sorted` of the first step of the execution that took over */
  index: number;
}

/** A workflow's recorded steps as executions: what `wf steps` prints as text and the web page draws (lib/ui). */
export interface TimelineModel {
  /** the steps, by start time */
  sorted: OperationRow[];
  t0: number;
  tEnd: number;
  finished: boolean;
  gaps: ExecutionGap[];
  /** execution attempts after the last one that recorded a step: they recorded nothing of their own */
  trailing: number[];
}

export function timelineModel(wf: WorkflowRow, ops: OperationRow[]): TimelineModel {
  const sorted = [...ops].sort((a, b) => a.startedAtEpochMs - b.startedAtEpochMs || a.functionID - b.functionID);
  const t0 = Math.min(wf.createdAt, sorted[0]?.startedAtEpochMs ?? wf.createdAt);
  const finished = !isUnfinished(wf.status);
  const tEnd = Math.max(finished ? wf.updatedAt : 0, ...sorted.map((o) => o.completedAtEpochMs), t0);
  const gaps: ExecutionGap[] = [];
  let lastRun: number | null | undefined;
  let lastEnd = t0;
  sorted.forEach((o, index) => {
    const run = o.executionAttempt ?? null;
    if (lastRun !== undefined && run !== lastRun && run !== null) {
      const silent = lastRun === null ? [] : Array.from({ length: Math.max(0, run - lastRun - 1) }, (_, i) => lastRun! + 1 + i);
      gaps.push({ after: lastRun, before: run, silent, start: lastEnd, end: o.startedAtEpochMs, index });
    }
    lastRun = run;
    lastEnd = Math.max(lastEnd, o.completedAtEpochMs);
  });
  const n = wf.recoveryAttempts;
  const last = sorted.at(-1)?.executionAttempt ?? 0;
  const trailing = n > last && last > 0 ? Array.from({ length: n - last }, (_, i) => last + 1 + i) : [];
  return { sorted, t0, tEnd, finished, gaps, trailing };
}

export function renderTimeline(wf: WorkflowRow, ops: OperationRow[], width = 40): string[] {
  const lines: string[] = [];
  const n = wf.recoveryAttempts;
  lines.push(`timeline: executed ${n} time${n === 1 ? '' : 's'} (${describeExecutions(n)}); each bar is one step on the time axis`);
  if (ops.length === 0) {
    lines.push('  (no step recorded yet)');
    return lines;
  }
  const { sorted, t0, tEnd, finished, gaps, trailing } = timelineModel(wf, ops);
  const span = Math.max(1, tEnd - t0);
  const col = (t: number) => Math.min(width - 1, Math.round(((t - t0) / span) * (width - 1)));
  const nameWidth = Math.min(24, Math.max(4, ...sorted.map((o) => o.functionName.length)));
  const idWidth = Math.max(2, ...sorted.map((o) => String(o.functionID).length));
  const end = formatMs(span);
  lines.push(`  run  ${pad('#', idWidth)} ${pad('step', nameWidth)}  +0${' '.repeat(Math.max(1, width - 2 - end.length))}${end}`);
  sorted.forEach((o, index) => {
    for (const g of gaps.filter((x) => x.index === index)) {
      const what = g.silent.length ? `; run${g.silent.length > 1 ? 's' : ''} ${g.silent.join(', ')} recorded no step` : '';
      lines.push(`  ---- run ${g.after ?? '?'} stopped after its last record at +${formatMs(g.start - t0)} (a crash, a stop or a cancel)${what}; run ${g.before} takes over at +${formatMs(g.end - t0)} ----`);
    }
    const run = o.executionAttempt ?? null;
    const a = col(o.startedAtEpochMs);
    const b = Math.max(a + 1, col(o.completedAtEpochMs) + 1);
    const bar = '·'.repeat(a) + '█'.repeat(b - a) + '·'.repeat(Math.max(0, width - b));
    const notes = [formatMs(o.completedAtEpochMs - o.startedAtEpochMs)];
    if (o.attempts > 1) notes.push(`${o.attempts} attempts`);
    if (o.error !== null) notes.push('failed');
    if (o.childWorkflowID !== null) notes.push(`child ${o.childWorkflowID}`);
    lines.push(`  ${pad(String(run ?? '?'), 4)} ${String(o.functionID).padStart(idWidth)} ${pad(o.functionName, nameWidth)}  ${bar}  ${notes.join(', ')}`);
  });
  if (trailing.length) {
    const k = trailing.length;
    lines.push(`  ---- then run${k > 1 ? 's' : ''} ${trailing.join(', ')}: no step of ${k > 1 ? 'their' : 'its'} own recorded (replayed the recorded ones, or died or was parked before the next record) ----`);
  }
  lines.push(finished ? `  end: ${wf.status} at +${formatMs(wf.updatedAt - t0)}` : `  still ${wf.status} (last change at +${formatMs(wf.updatedAt - t0)})`);
  return lines;
}
