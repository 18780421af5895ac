// Rows as the database returns them (snake_case columns, numbers that may come back as strings or
// bigints) made into the engine's WorkflowRow and OperationRow. A damaged row is named, not thrown.
import { rowDamage } from './damage.js';
import type { OperationRow, RecordedOutcome, WorkflowRow, WorkflowStatusValue } from './types.js';

export type Raw = Record<string, unknown>;
export const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
export const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toWorkflowRow(r: Raw): WorkflowRow {
  const row: WorkflowRow = {
    workflowID: String(r.workflow_uuid),
    status: r.status as WorkflowStatusValue,
    name: String(r.name),
    inputs: str(r.inputs),
    output: str(r.output),
    error: str(r.error),
    executorID: str(r.executor_id),
    applicationID: str(r.application_id),
    applicationVersion: str(r.application_version),
    recoveryAttempts: num(r.recovery_attempts),
    parentWorkflowID: str(r.parent_workflow_id),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    queueName: str(r.queue_name),
    deduplicationID: str(r.deduplication_id),
    priority: num(r.priority),
    startedAtEpochMs: r.started_at_epoch_ms === null || r.started_at_epoch_ms === undefined ? null : num(r.started_at_epoch_ms),
  };
  const damaged = rowDamage(row);
  if (damaged) row.damaged = damaged; // named, never thrown here: one bad row must not stop a list or a recovery
  return row;
}

export const toRecordedOutcome = (r: Raw): RecordedOutcome => ({
  functionID: num(r.function_id), functionName: String(r.function_name), output: str(r.output), error: str(r.error), childWorkflowID: str(r.child_workflow_id),
});

export function toOperationRow(r: Raw): OperationRow {
  return {
    ...toRecordedOutcome(r),
    workflowID: String(r.workflow_uuid),
    attempts: num(r.attempts),
    executionAttempt: r.execution_attempt === null || r.execution_attempt === undefined ? null : num(r.execution_attempt),
    startedAtEpochMs: num(r.started_at_epoch_ms),
    completedAtEpochMs: num(r.completed_at_epoch_ms),
  };
}
