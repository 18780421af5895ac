// A handle on a workflow: its status, and its outcome awaited from the execution here or from the
// database. Awaiting also recovers: a PENDING workflow whose owner died is taken over by whoever
// waits for it (promise 6 of docs/DESIGN.md). Inside a workflow the wait is an operation recorded
// as DBOS records it, so a replay returns the awaited outcome without waiting again (promise 2).
import { setTimeout as sleep } from 'node:timers/promises';
import { takeOverIfOrphaned } from './claim.js';
import { currentContext } from './context.js';
import { readDamaged } from './damaged.js';
import { record, replay, takeRecorded } from './engine.js';
import { DBOSAwaitedWorkflowCancelledError, DBOSAwaitedWorkflowExceededMaxRecoveryAttempts, WorkflowNotFoundError } from './errors.js';
import { flushPending } from './pending.js';
import { deserialize, deserializeError, serialize, serializeError } from './serialize.js';
import { db, state, type LocalOutcome } from './state.js';
import type { WorkflowRow } from './storage/types.js';
import { toWorkflowStatus, type WorkflowStatus } from './workflow-status.js';

function outcomeOf(row: WorkflowRow): LocalOutcome | undefined {
  readDamaged(row); // an unknown status or a count that is not a number fails here, clearly, instead of a wait forever
  switch (row.status) {
    case 'SUCCESS':
      return { kind: 'success', value: readDamaged(row, 'output', deserialize) };
    case 'ERROR':
      return { kind: 'error', error: readDamaged(row, 'error', (t) => deserializeError(t ?? '{"name":"Error","message":"unknown error"}')) };
    // Whoever awaits a cancelled or parked workflow gets DBOS's "Awaited ..." errors (codes 27 and 30).
    case 'CANCELLED':
      return { kind: 'error', error: new DBOSAwaitedWorkflowCancelledError(row.workflowID) };
    case 'MAX_RECOVERY_ATTEMPTS_EXCEEDED':
      return { kind: 'error', error: new DBOSAwaitedWorkflowExceededMaxRecoveryAttempts(row.workflowID) };
    default:
      return undefined;
  }
}

/** The operation name DBOS records for awaiting a workflow's result inside a workflow. */
export const GET_RESULT = 'DBOS.getResult';

export class WorkflowHandle<R> {
  constructor(readonly workflowID: string) {}

  /** The workflow as DBOS shows it now, or null (see DBOS.getWorkflowStatus). */
  async getStatus(): Promise<WorkflowStatus | null> {
    const row = await db().getWorkflow(this.workflowID);
    return row ? toWorkflowStatus(row) : null;
  }

  /**
   * Waits for the outcome: from the execution in this process when there is one, else from the
   * database (polling with backoff). A PENDING workflow whose owner died is taken over here.
   * Inside a workflow the wait is an operation of its own, as DBOS records it ("DBOS.getResult",
   * holding the awaited outcome): a replay returns it without waiting.
   */
  async getResult(): Promise<R> {
    const ctx = currentContext();
    if (!ctx || ctx.step) return this.waitResult();
    const functionID = ctx.nextFunctionID++;
    const rec = takeRecorded(ctx, functionID, GET_RESULT);
    if (rec) return replay<R>(rec);
    await flushPending(ctx); // written before a wait that may be long, not re-run after a crash in it
    const startedAt = Date.now();
    let value: R | undefined;
    let thrown: unknown;
    try {
      value = await this.waitResult();
    } catch (err) {
      thrown = err;
    }
    await record(ctx, {
      workflowID: ctx.workflowID, functionID, functionName: GET_RESULT, childWorkflowID: this.workflowID, attempts: 1,
      output: thrown === undefined ? serialize(value, `the result of workflow ${this.workflowID}`) : null,
      error: thrown === undefined ? null : serializeError(thrown), startedAtEpochMs: startedAt, completedAtEpochMs: Date.now(),
    });
    if (thrown !== undefined) throw thrown;
    return value as R;
  }

  private async waitResult(): Promise<R> {
    for (let wait = 5; ; wait = Math.min(wait * 2, 500)) {
      const local = state.running.get(this.workflowID);
      const o = local ? await local : undefined;
      if (o && o.kind !== 'elsewhere' && o.kind !== 'stopped') return unwrap<R>(o);
      const row = await db().getWorkflow(this.workflowID);
      if (!row) throw new WorkflowNotFoundError(this.workflowID);
      const done = outcomeOf(row);
      if (done) return unwrap<R>(done);
      const reg = state.workflows.get(row.name);
      if (reg) await takeOverIfOrphaned(reg, row);
      if (!state.running.has(this.workflowID)) await sleep(wait);
    }
  }
}

function unwrap<R>(o: LocalOutcome): R {
  if (o.kind === 'error') throw o.error;
  return (o as { value: R }).value;
}

