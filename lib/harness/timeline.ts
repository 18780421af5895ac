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

export function renderTimeline(wf: WorkflowRow, ops: OperationRow[], width = 40): string[] {
  const lines: string[] = [];
  const n = wf.recoveryAttempts;
  lines.push(`timeline: executed ${n} time${n === 1 ? '' : 's'} (${describeExecutions(n)}); each bar is one step on the time axis`);
  if (ops.length === 0) {
    lines.push('  (no step recorded yet)');
    return lines;
  }
  const sorted = [...ops].sort((a, b) => a.startedAtEpochMs - b.startedAtEpochMs || a.functionID - b.functionID);
  const t0 = Math.min(wf.createdAt, sorted[0].startedAtEpochMs);
  const finished = !isUnfinished(wf.status);
  const tEnd = Math.max(finished ? wf.updatedAt : 0, ...sorted.map((o) => o.completedAtEpochMs));
  const span = Math.max(1, tEnd - t0);
  const col = (t: number) => Math.min(width - 1, Math.round(((t - t0) / span) * (width - 1)));
  const nameWidth = Math.min(24, Math.max(4, ...sorted.map((o) => o.functionName.length)));
  const idWidth = Math.max(2, ...sorted.map((o) => String(o.functionID).length));
  const end = formatMs(span);
  lines.push(`  run  ${pad('#', idWidth)} ${pad('step', nameWidth)}  +0${' '.repeat(Math.max(1, width - 2 - end.length))}${end}`);
  let lastRun: number | null | undefined;
  let lastEnd = t0;
  for (const o of sorted) {
    const run = o.executionAttempt ?? null;
    if (lastRun !== undefined && run !== lastRun && run !== null) {
      // Executions between these two that recorded nothing died (or were parked) before their first record.
      const silent = lastRun === null ? [] : Array.from({ length: Math.max(0, run - lastRun - 1) }, (_, i) => lastRun! + 1 + i);
      const what = silent.length ? `; run${silent.length > 1 ? 's' : ''} ${silent.join(', ')} recorded no step` : '';
      lines.push(`  ---- run ${lastRun ?? '?'} stopped after its last record at +${formatMs(lastEnd - t0)} (a crash, a stop or a cancel)${what}; run ${run} takes over at +${formatMs(o.startedAtEpochMs - t0)} ----`);
    }
    lastRun = run;
    lastEnd = Math.max(lastEnd, o.completedAtEpochMs);
    const a = col(o.startedAtEpochMs);
    const b = Math.max(a + 1, col(o.completedAtEpochMs) + 1);
    const bar = '·'.repeat(a) + '█'.repeat(b - a) + '·'.repeat(Math.max(0, width - b));
    const notes = [formatMs(o.completedAtEpochMs - o.startedAtEpochMs)];
    if (o.attempts > 1) notes.push(`${o.attempts} attempts`);
    if (o.error !== null) notes.push('failed');
    if (o.childWorkflowID !== null) notes.push(`child ${o.childWorkflowID}`);
    lines.push(`  ${pad(String(run ?? '?'), 4)} ${String(o.functionID).padStart(idWidth)} ${pad(o.functionName, nameWidth)}  ${bar}  ${notes.join(', ')}`);
  }
  const last = sorted.at(-1)!.executionAttempt ?? 0;
  if (n > last && last > 0) {
    const runs = Array.from({ length: n - last }, (_, i) => last + 1 + i).join(', ');
    lines.push(`  ---- then run${n - last > 1 ? 's' : ''} ${runs}: no step of ${n - last > 1 ? 'their' : 'its'} own recorded (replayed the recorded ones, or died or was parked before the next record) ----`);
  }
  lines.push(finished ? `  end: ${wf.status} at +${formatMs(wf.updatedAt - t0)}` : `  still ${wf.status} (last change at +${formatMs(wf.updatedAt - t0)})`);
  return lines;
}
