// A workflow as DBOS Transact's API shows it (its WorkflowStatus): what DBOS.getWorkflowStatus,
// DBOS.listWorkflows and a handle's getStatus() return, with DBOS's field names and the inputs,
// output and error as values. The storage row (WorkflowRow) stays the engine's own.
import { ConfigError } from './errors.js';
import { deserialize, deserializeError } from './serialize.js';
import type { ListFilter, WorkflowRow } from './storage/types.js';

export interface WorkflowStatus {
  workflowID: string;
  status: string;
  workflowName: string;
  input?: unknown[];
  output?: unknown;
  error?: unknown;
  executorId?: string;
  applicationVersion?: string;
  applicationName?: string;
  recoveryAttempts?: number;
  parentWorkflowID?: string;
  /** epoch ms */
  createdAt: number;
  /** epoch ms */
  updatedAt?: number;
  /** queues (DBOS's names): the queue, its deduplication id and priority, and when a worker dequeued it (epoch ms) */
  queueName?: string;
  deduplicationID?: string;
  priority?: number;
  dequeuedAt?: number;
}

/** DBOS's listWorkflows filter: times as ISO strings (DBOS) or epoch ms (ours too). */
export interface GetWorkflowsInput {
  workflowIDs?: string[];
  workflowName?: string;
  status?: string | string[];
  /** created at or after: an ISO time ("2026-12-01T10:00:00Z") or epoch ms */
  startTime?: string | number;
  /** created at or before: an ISO time or epoch ms */
  endTime?: string | number;
  /** default: this application's workflows, as DBOS 5.x scopes an unset filter */
  applicationName?: string;
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
}

/**
 * A damaged row (lib/storage/damage.ts) is still listed: the value that cannot be read shows as
 * undefined, and getResult on the workflow names the column and the fix.
 */
function readable<T>(r: WorkflowRow, column: string, read: () => T): T | undefined {
  if (r.damaged?.column === column) return undefined;
  try {
    return read();
  } catch {
    return undefined; // text that is not valid JSON/SuperJSON: named by getResult (DamagedRowError), not fatal to a list
  }
}

export function toWorkflowStatus(r: WorkflowRow): WorkflowStatus {
  return {
    workflowID: r.workflowID, status: r.status, workflowName: r.name,
    input: readable(r, 'inputs', () => deserialize<unknown[] | undefined>(r.inputs)), output: readable(r, 'output', () => deserialize(r.output)),
    error: r.error === null ? undefined : readable(r, 'error', () => deserializeError(r.error!)),
    executorId: r.executorID ?? undefined, applicationVersion: r.applicationVersion ?? undefined,
    applicationName: r.applicationID ?? undefined, recoveryAttempts: r.recoveryAttempts,
    parentWorkflowID: r.parentWorkflowID ?? undefined, createdAt: r.createdAt, updatedAt: r.updatedAt,
    queueName: r.queueName ?? undefined, deduplicationID: r.deduplicationID ?? undefined, priority: r.priority,
    dequeuedAt: r.startedAtEpochMs ?? undefined,
  };
}

function epochMs(what: string, t: string | number | undefined): number | undefined {
  if (t === undefined || typeof t === 'number') return t;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new ConfigError(`listWorkflows: ${what} "${t}" is not a time: give an ISO time such as "2026-12-01T10:00:00Z", or epoch milliseconds.`);
  return ms;
}

export function toListFilter(f: GetWorkflowsInput, appName: string): ListFilter {
  return {
    workflowIDs: f.workflowIDs, workflowName: f.workflowName, status: f.status, applicationID: f.applicationName ?? appName,
    startTime: epochMs('startTime', f.startTime), endTime: epochMs('endTime', f.endTime),
    limit: f.limit, offset: f.offset, sortDesc: f.sortDesc,
  };
}
