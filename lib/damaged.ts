// Reading what the database holds when it may have been damaged by hand or by another program, and
// refusing a workflow id that the two databases would not store alike. A damaged row is named with
// its workflow id, its column and a fix (DamagedRowError), and left alone.
import { DamagedRowError, InvalidWorkflowIDError, MAX_WORKFLOW_ID_BYTES } from './errors.js';
import type { WorkflowRow } from './storage/types.js';

type JsonColumn = 'inputs' | 'output' | 'error';

/**
 * Throws the row's damage (lib/storage/damage.ts) if it has one; with a column, also parses that
 * column with `read` and names the column when it is not valid JSON.
 */
export function readDamaged(row: WorkflowRow): void;
export function readDamaged<T>(row: WorkflowRow, column: JsonColumn, read: (text: string | null) => T): T;
export function readDamaged<T>(row: WorkflowRow, column?: JsonColumn, read?: (text: string | null) => T): T | void {
  if (row.damaged) throw new DamagedRowError(row.workflowID, row.damaged.column, row.damaged.problem, row.damaged.fix);
  if (!column || !read) return;
  try {
    return read(row[column]);
  } catch (err) {
    const fix =
      column === 'inputs'
        ? `Repair the JSON by hand, or cancel the workflow: npm run wf -- cancel ${row.workflowID}.`
        : `Repair the JSON by hand (its steps' outcomes are in operation_outputs: npm run wf -- steps ${row.workflowID}).`;
    throw new DamagedRowError(row.workflowID, column, `is not valid JSON (${(err as Error).message})`, fix);
  }
}

/** A workflow id must be storable as it is on both databases: no NUL character (PostgreSQL text refuses it), and short enough to index. */
export function checkWorkflowID(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidWorkflowIDError('it is empty or not a string');
  if (id.includes('\u0000')) throw new InvalidWorkflowIDError('it contains a NUL character (\\u0000), which PostgreSQL cannot store in text');
  const bytes = Buffer.byteLength(id);
  if (bytes > MAX_WORKFLOW_ID_BYTES) throw new InvalidWorkflowIDError(`it is ${bytes} bytes long`);
}
