// The hot path's SQL: the statements every workflow sends (its start, its steps, its end), the
// fence that guards each write, and their parameter lists in order. Built once per database by
// sql.ts; the benchmark (bench/) runs the same statements without the engine, as its floor.
//
// A workflow's end carries its last step's outcome, kept pending until then (lib/pending.ts,
// docs/DESIGN.md promise 15), so both commit or neither: PostgreSQL in one statement (finishWithStep:
// the fenced status update, the step's row only if that update took, then the output); SQLite sends
// the step's row, the status and the output in the same turn, and its group commit makes them one
// transaction (the step's row first: the fence it checks is the status the next one changes).
import { SERIALIZATION } from '../serialize.js';
import type { Fence, NewWorkflow, OperationRow, WorkflowStatusValue } from './types.js';

/** This execution owns the workflow: its executor and its execution attempt (the fence of every write). */
export const OWNER = `executor_id = ? AND recovery_attempts = ?`;
export const FENCE = `status = 'PENDING' AND ${OWNER}`;

/** A step's row in operation_outputs: its columns, and their values in that order (opValues). */
const OP_COLUMNS = `(workflow_uuid, function_id, function_name, output, error, child_workflow_id, attempts, execution_attempt,
         serialization, started_at_epoch_ms, completed_at_epoch_ms)`;
const opValues = (op: OperationRow, fence: Fence): unknown[] =>
  [op.functionID, op.functionName, op.output, op.error, op.childWorkflowID, op.attempts, fence.attempt, SERIALIZATION, op.startedAtEpochMs, op.completedAtEpochMs];

/**
 * The statements of the hot path, built once per database: the same string object each call lets
 * the driver find its prepared statement without hashing a new string (a profile showed it).
 * Exported with their parameter lists (hotParams) for the benchmark, which runs them without the engine.
 */
export function hotStatements(S: string, writesInWith = S !== '') {
  const insertStatus = `INSERT INTO ${S}workflow_status (workflow_uuid, status, name, executor_id, application_id,
         application_version, recovery_attempts, parent_workflow_id, serialization, created_at, updated_at)
       VALUES (?, 'PENDING', ?, ?, ?, ?, 1, ?, '${SERIALIZATION}', ?, ?)
       ON CONFLICT (workflow_uuid) DO NOTHING`;
  const updateStatus = `UPDATE ${S}workflow_status SET status = ?, updated_at = ? WHERE workflow_uuid = ? AND ${FENCE}`;
  const upsertOutput = `ON CONFLICT (workflow_uuid) DO UPDATE SET output = excluded.output, error = excluded.error`;
  return {
    // The row and its inputs (workflow_input, as DBOS 5.x) together: one statement on PostgreSQL,
    // two in one group commit on SQLite. Params: hotParams.insertWorkflow (the inputs last).
    insertWorkflow: writesInWith
      ? `WITH s AS (${insertStatus} RETURNING workflow_uuid) INSERT INTO ${S}workflow_input (workflow_uuid, inputs) SELECT workflow_uuid, ? FROM s`
      : insertStatus,
    insertInputs: `INSERT INTO ${S}workflow_input (workflow_uuid, inputs) VALUES (?, ?) ON CONFLICT (workflow_uuid) DO NOTHING`,
    getWorkflow: `${SELECT_WORKFLOW(S)} WHERE s.workflow_uuid = ?`,
    claimWorkflow: `UPDATE ${S}workflow_status SET recovery_attempts = recovery_attempts + 1, executor_id = ?, updated_at = ?
       WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts = ?`,
    loadOperations: `SELECT * FROM ${S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id`,
    loadRecorded: `SELECT function_id, function_name, output, error, child_workflow_id FROM ${S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id`,
    // One statement: the insert happens only while this execution still owns the workflow.
    recordOperation: `INSERT INTO ${S}operation_outputs ${OP_COLUMNS}
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND ${FENCE})
       ON CONFLICT (workflow_uuid, function_id) DO NOTHING`,
    // The final status and the outcome (workflow_output), written only while the fence holds.
    finishWorkflow: writesInWith
      ? `WITH s AS (${updateStatus} RETURNING workflow_uuid) INSERT INTO ${S}workflow_output (workflow_uuid, output, error)
         SELECT workflow_uuid, ?, ? FROM s ${upsertOutput}`
      : updateStatus,
    // The same, with the last step's outcome, kept pending until now, in the same commit. Params: hotParams.finishWithStep.
    finishWithStep: `WITH s AS (${updateStatus} RETURNING workflow_uuid),
       o AS (INSERT INTO ${S}operation_outputs ${OP_COLUMNS}
         SELECT workflow_uuid, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM s ON CONFLICT (workflow_uuid, function_id) DO NOTHING)
     INSERT INTO ${S}workflow_output (workflow_uuid, output, error) SELECT workflow_uuid, ?, ? FROM s ${upsertOutput}`,
    // SQLite's second write, sent in the same turn: the outcome, if the status update above took.
    finishOutput: `INSERT INTO ${S}workflow_output (workflow_uuid, output, error) SELECT ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND status = ? AND ${OWNER}) ${upsertOutput}`,
    checkFence: `SELECT status, executor_id, recovery_attempts FROM ${S}workflow_status WHERE workflow_uuid = ?`,
  };
}

/** A workflow_status row with its inputs, output and error from their own tables (older rows: from its own columns). */
export const SELECT_WORKFLOW = (S: string) => `SELECT s.workflow_uuid, s.status, s.name, s.executor_id, s.application_id, s.application_version,
    s.recovery_attempts, s.parent_workflow_id, s.created_at, s.updated_at,
    s.queue_name, s.deduplication_id, s.priority, s.started_at_epoch_ms,
    COALESCE(i.inputs, s.inputs) AS inputs, COALESCE(o.output, s.output) AS output, COALESCE(o.error, s.error) AS error
  FROM ${S}workflow_status s LEFT JOIN ${S}workflow_input i ON i.workflow_uuid = s.workflow_uuid
  LEFT JOIN ${S}workflow_output o ON o.workflow_uuid = s.workflow_uuid`;

/** The parameters of the hot statements, in their order. */
export const hotParams = {
  /** the status row's parameters, then the inputs (the PostgreSQL statement takes all; SQLite's: hotParams.statusOnly) */
  insertWorkflow: (w: NewWorkflow): unknown[] =>
    [w.workflowID, w.name, w.executorID, w.applicationID, w.applicationVersion, w.parentWorkflowID, w.now, w.now, w.inputs],
  statusOnly: (params: unknown[]): unknown[] => params.slice(0, -1),
  recordOperation: (op: OperationRow, fence: Fence): unknown[] =>
    [op.workflowID, ...opValues(op, fence), op.workflowID, fence.executorID, fence.attempt],
  /** the status update's parameters, then output and error (SQLite's update takes the first 5: hotParams.statusUpdate) */
  finishWorkflow: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number): unknown[] =>
    [status, now, workflowID, fence.executorID, fence.attempt, output, error],
  statusUpdate: (params: unknown[]): unknown[] => params.slice(0, 5),
  /** the status update's 5 parameters, the last step's 10, then the workflow's output and error */
  finishWithStep: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number, op: OperationRow): unknown[] =>
    [status, now, workflowID, fence.executorID, fence.attempt, ...opValues(op, fence), output, error],
  finishOutput: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence): unknown[] =>
    [workflowID, output, error, workflowID, status, fence.executorID, fence.attempt],
};
