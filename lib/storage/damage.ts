// A workflow_status row that cannot be read as the engine wrote it: a status no version of the
// engine writes, a count or a time that is not a number (SQLite stores whatever it is given). The
// row is named with its column and a fix, and left alone: listing shows it, recovery skips it,
// getResult on it fails with that message instead of waiting forever.
import { WORKFLOW_STATUSES, type RowDamage, type WorkflowRow } from './types.js';

const S = 'workflow_status'; // the table, as an operator types it (dbos.workflow_status on PostgreSQL)

export function rowDamage(row: WorkflowRow): RowDamage | undefined {
  const where = `WHERE workflow_uuid = '${row.workflowID.replaceAll("'", "''")}'`;
  if (!(WORKFLOW_STATUSES as readonly string[]).includes(row.status))
    return {
      column: 'status',
      problem: `holds ${JSON.stringify(row.status)}, which is not a status (${WORKFLOW_STATUSES.join(', ')})`,
      fix: `Set it by hand to one of them, e.g. UPDATE ${S} SET status = 'CANCELLED' ${where}; or delete the row.`,
    };
  for (const [column, value, fixValue] of [
    ['recovery_attempts', row.recoveryAttempts, '1'],
    ['created_at', row.createdAt, 'updated_at'],
    ['updated_at', row.updatedAt, 'created_at'],
  ] as const)
    if (!Number.isSafeInteger(value))
      return { column, problem: `holds a value that is not a whole number`, fix: `Set it by hand: UPDATE ${S} SET ${column} = ${fixValue} ${where}.` };
  return undefined;
}
