// What the crash-test harness says: one line per crash point, and a failure that names every
// crash point that failed, its step, and what differed.
import { WorkbookError } from '../errors.js';
import type { CrashWhen, Outcome } from './protocol.js';

export interface CrashPointReport {
  workflowID: string;
  functionID: number;
  /** the step (or child workflow) recorded at this function id */
  name: string;
  when: CrashWhen;
  ok: boolean;
  problems: string[];
  /** steps that ran in the crashed process and again on recovery (at-least-once, promise 3) */
  ranTwice: string[];
  /** outcomes recorded before the death, replayed on recovery */
  replayed: number;
  /** this crash point's database: a SQLite file or a PostgreSQL database name (kept when a point failed) */
  database: string;
  /** the command that runs this crash point alone, keeping its database */
  replay?: string;
  /** a transaction step: "before" is inside its transaction, before COMMIT; "after" is after COMMIT */
  transaction?: boolean;
}

export interface CrashTestReport {
  ok: boolean;
  module: string;
  workflowName: string;
  db: 'sqlite' | 'pg';
  reference: Outcome;
  points: CrashPointReport[];
  /** where the databases were kept, when they were */
  kept?: string;
}

/** "crash before recording step 1 (charge) of workflow crash-test" */
export function describePoint(p: Pick<CrashPointReport, 'when' | 'functionID' | 'name' | 'workflowID' | 'transaction'>): string {
  if (p.transaction) {
    const at = p.when === 'after' ? 'after COMMIT of' : 'inside the transaction, before COMMIT, of';
    return `crash ${at} transaction step ${p.functionID} (${p.name}) of workflow ${p.workflowID}`;
  }
  if (p.when === 'end') return `crash at the end of workflow ${p.workflowID}, its last step ${p.functionID} (${p.name}) done, neither written yet`;
  return `crash ${p.when === 'after' ? 'after ' : 'before'} recording step ${p.functionID} (${p.name}) of workflow ${p.workflowID}`;
}

const quote = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** `npx durable-workbook crash-test src/checkout.ts checkout --db pg --point 1:before --keep` */
export function replayCommand(o: {
  command: string; modulePath: string; workflowName: string; args?: unknown[]; db: string; appEnv: string;
  setup: string; check: string; tables: string[]; point: { workflowID: string; functionID: number; when: string }; topID: string;
}): string {
  const parts = [o.command, quote(o.modulePath)];
  if (o.workflowName) parts.push(quote(o.workflowName));
  if (o.args !== undefined) parts.push('--args', quote(JSON.stringify(o.args)));
  if (o.db !== 'sqlite') parts.push('--db', o.db);
  if (o.appEnv !== 'DATABASE_URL') parts.push('--app-env', o.appEnv);
  if (o.setup) parts.push('--setup', quote(o.setup));
  if (o.check) parts.push('--check', quote(o.check));
  if (o.tables.length) parts.push('--tables', quote(o.tables.join(',')));
  const wf = o.point.workflowID === o.topID ? '' : `${o.point.workflowID}#`;
  parts.push('--point', quote(`${wf}${o.point.functionID}:${o.point.when}`), '--keep');
  return parts.join(' ');
}

function problemLines(r: CrashPointReport, indent: string): string {
  return r.problems.map((p) => `${indent}- ${p}`).join('\n');
}

export function formatPoint(r: CrashPointReport): string {
  const head = `  ${r.ok ? 'ok  ' : 'FAIL'} ${describePoint(r)}`;
  const rolledBack = r.transaction && r.when === 'before' ? ' (the first run rolled back with the crash)' : '';
  const twice = r.ranTwice.length ? `; ran twice (in the crashed process and on recovery): ${r.ranTwice.join(', ')}${rolledBack}` : '';
  if (!r.ok) return `${head}${twice}\n${problemLines(r, '         ')}${r.replay ? `\n         replay this crash point alone: ${r.replay}` : ''}`;
  return `${head}: ${r.replayed} outcome(s) replayed${twice}`;
}

export function formatReport(r: CrashTestReport): string {
  const failed = r.points.filter((p) => !p.ok);
  const lines: string[] = [];
  lines.push(failed.length
    ? `crash test FAILED: ${failed.length} of ${r.points.length} crash points of ${r.workflowName} (${r.module}, ${r.db}) went wrong`
    : `crash test passed: ${r.workflowName} (${r.module}, ${r.db}) survives all ${r.points.length} crash points`);
  if (r.kept) lines.push(`databases kept for a look: ${r.kept}`);
  return lines.join('\n');
}

/** Thrown by crashTest() when a crash point failed; `report` has every crash point. */
export class CrashTestError extends WorkbookError {
  constructor(readonly report: CrashTestReport) {
    const failed = report.points.filter((p) => !p.ok);
    super(
      'CRASH_TEST_FAILED',
      `crash test of ${report.workflowName} (${report.module}, ${report.db}): ${failed.length} of ${report.points.length} crash points failed\n` +
        failed.map((p) => `  ${describePoint(p)}${p.ranTwice.length ? ` (ran twice: ${p.ranTwice.join(', ')})` : ''}:\n${problemLines(p, '    ')}` +
          (report.kept ? `\n    its database: ${p.database}` : '') + (p.replay ? `\n    replay it alone: ${p.replay}` : '')).join('\n') +
        (report.kept ? `\ndatabases kept for a look: ${report.kept}` : '') +
        '\nA step that ran twice needs an idempotent side effect (a key that makes the repeat harmless): see docs/DESIGN.md, promise 3.',
    );
  }
}
