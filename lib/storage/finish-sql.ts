// A workflow's end and its last step's outcome in one commit (docs/DESIGN.md, "When an outcome is
// durable"): the step's outcome was kept pending until the end, which writes both or neither,
// fenced as any write of the execution. PostgreSQL does it in one statement (WITH); SQLite sends
// the step's row, the status and the output in the same turn, and its group commit makes them one
// transaction (the step's row first: the fence it checks is the status the next one changes).
import { SERIALIZATION } from '../serialize.js';
import type { Fence, OperationRow, WorkflowStatusValue } from './types.js';

const OP_COLUMNS = `(workflow_uuid, function_id, function_name, output, error, child_workflow_id, attempts, execution_attempt,
         serialization, started_at_epoch_ms, completed_at_epoch_ms)`;

/**
 * PostgreSQL's one statement: the status update (fenced), the step's row only if that update took,
 * then the workflow's output. Its row count is 1 when the fence held. Params: finishWithStepParams.
 * `updateStatus` and `upsertOutput` are the finish's own pieces (hot-sql.ts hotStatements).
 */
export function finishWithStepStatement(S: string, updateStatus: string, upsertOutput: string): string {
  return `WITH s AS (${updateStatus} RETURNING workflow_uuid),
       o AS (INSERT INTO ${S}operation_outputs ${OP_COLUMNS}
         SELECT workflow_uuid, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM s ON CONFLICT (workflow_uuid, function_id) DO NOTHING)
     INSERT INTO ${S}workflow_output (workflow_uuid, output, error) SELECT workflow_uuid, ?, ? FROM s ${upsertOutput}`;
}

/** The status update's 5 parameters (hotParams.finishWorkflow's first five), the step's 10, then the workflow's output and error. */
export function finishWithStepParams(workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null,
  fence: Fence, now: number, op: OperationRow): unknown[] {
  return [status, now, workflowID, fence.executorID, fence.attempt,
    op.functionID, op.functionName, op.output, op.error, op.childWorkflowID, op.attempts, fence.attempt, SERIALIZATION,
    op.startedAtEpochMs, op.completedAtEpochMs, output, error];
}
