// One storage interface, two small implementations (sqlite.ts, postgres.ts). A difference between
// them is a named capability, never an `if (sqlite)` in the engine.

/** The statuses DESIGN.md names, and no others. */
export const WORKFLOW_STATUSES = ['PENDING', 'ENQUEUED', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'] as const;
export type WorkflowStatusValue = (typeof WORKFLOW_STATUSES)[number];

/** The statuses of a workflow that has not finished: running, to be recovered, or waiting. */
export const UNFINISHED: WorkflowStatusValue[] = ['PENDING', 'ENQUEUED'];
export const isUnfinished = (status: string): boolean => status === 'PENDING' || status === 'ENQUEUED';


/** A workflow_status row, in camelCase. Times are epoch milliseconds, as DBOS stores them. */
export interface WorkflowRow {
  workflowID: string;
  status: WorkflowStatusValue;
  name: string;
  inputs: string | null;
  output: string | null;
  error: string | null;
  executorID: string | null;
  applicationID: string | null;
  applicationVersion: string | null;
  recoveryAttempts: number;
  parentWorkflowID: string | null;
  createdAt: number;
  updatedAt: number;
  /** queues (lib/queues/): the queue it was enqueued on, null when started directly */
  queueName?: string | null;
  deduplicationID?: string | null;
  /** lower runs first (default 0) */
  priority?: number;
  /** when a worker dequeued it (epoch ms), null while ENQUEUED */
  startedAtEpochMs?: number | null;
}

/** An operation_outputs row: the recorded outcome of one step (or child workflow start). */
export interface OperationRow {
  workflowID: string;
  functionID: number;
  functionName: string;
  output: string | null;
  error: string | null;
  childWorkflowID: string | null;
  /** how many times the step's function ran before this outcome (our addition to DBOS's columns) */
  attempts: number;
  /** the workflow's execution attempt that recorded it (1 = first run); set from the fence on write, null in rows older than it */
  executionAttempt?: number | null;
  startedAtEpochMs: number;
  completedAtEpochMs: number;
}

/** Who may write for a workflow: its owner executor at its current execution attempt. */
export interface Fence {
  executorID: string;
  attempt: number;
}

export interface NewWorkflow {
  workflowID: string;
  name: string;
  inputs: string | null;
  executorID: string;
  applicationID: string;
  applicationVersion: string;
  parentWorkflowID: string | null;
  now: number;
}

export interface ListFilter {
  workflowIDs?: string[];
  status?: string | string[];
  workflowName?: string;
  applicationID?: string;
  /** created at or after, epoch ms */
  startTime?: number;
  /** created at or before, epoch ms */
  endTime?: number;
  limit?: number;
  offset?: number;
  sortDesc?: boolean;
}

export interface ExecutorRow {
  executorID: string;
  hostname: string;
  pid: number;
  heartbeatAt: number;
}

/** The lessons' own tables. `?` placeholders on both databases. */
export interface AppDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** where the system tables are: 'dbos.' on PostgreSQL, '' on SQLite (`${schemaPrefix}workflow_status`) */
  readonly schemaPrefix: string;
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** runs the statements in one transaction, in order */
  batch(statements: { sql: string; params?: unknown[] }[]): Promise<void>;
}

// ---- Queues (lib/queues/) ----

/** A workflow to enqueue: written ENQUEUED, nobody runs it until a worker claims it. */
export interface NewQueuedWorkflow {
  workflowID: string;
  name: string;
  inputs: string | null;
  /** null: any worker of any application may take it (a client that names none) */
  applicationID: string | null;
  applicationVersion: string | null;
  queueName: string;
  deduplicationID: string | null;
  priority: number;
  now: number;
}

/** What enqueueWorkflow found: a new row, the row already under that id, or the unfinished holder of the deduplication id. */
export type EnqueueOutcome = { kind: 'created' | 'exists' | 'duplicate'; row: WorkflowRow };

/** One worker's claim on one queue; an absent limit is no limit. */
export interface QueueClaim {
  queueName: string;
  executorID: string;
  applicationID: string;
  /** only workflows this worker can run */
  workflowNames: string[];
  workerConcurrency?: number;
  globalConcurrency?: number;
  rateLimit?: { limitPerPeriod: number; periodSec: number };
  now: number;
}

/** A workflow a claim made PENDING for this executor, at execution attempt `attempt`. */
export interface ClaimedWorkflow {
  workflowID: string;
  name: string;
  inputs: string | null;
  attempt: number;
}

export interface QueueWorkerRow {
  executorID: string;
  queueName: string;
  workflowNames: string[];
}

export interface QueueStorage {
  /** Inserts the workflow ENQUEUED, unless its id exists or its deduplication id is held on its queue. */
  enqueueWorkflow(w: NewQueuedWorkflow): Promise<EnqueueOutcome>;
  /** Atomically takes the next ENQUEUED rows the queue's limits allow and marks them PENDING for this executor. */
  claimQueued(c: QueueClaim): Promise<ClaimedWorkflow[]>;
  /** A PENDING queued workflow whose owner died goes back to ENQUEUED (compare-and-set on its owner). */
  requeueWorkflow(workflowID: string, executorID: string | null, attempt: number, now: number): Promise<boolean>;
  /** Rows of one queue (or of every queue when undefined), optionally of some statuses, oldest first. */
  listQueueRows(queueName: string | undefined, statuses?: string[]): Promise<WorkflowRow[]>;
  /** Says which queue this executor serves, with which workflow names. */
  registerQueueWorker(w: QueueWorkerRow): Promise<void>;
  listQueueWorkers(): Promise<QueueWorkerRow[]>;
}

export interface SystemDatabase extends QueueStorage {
  readonly dialect: 'sqlite' | 'postgres';
  /** where it is, safe to print (password masked) */
  readonly description: string;
  readonly app: AppDatabase;
  migrate(): Promise<void>;
  /** Inserts the workflow as PENDING with recovery_attempts 1, unless the id exists (promise 1). */
  insertWorkflow(w: NewWorkflow): Promise<{ row: WorkflowRow; created: boolean }>;
  getWorkflow(workflowID: string): Promise<WorkflowRow | undefined>;
  /**
   * Takes a PENDING workflow for a new execution: recovery_attempts + 1 and executor_id = ours, if
   * nobody changed it since we read `seenAttempts` (compare-and-set). Returns the new attempt or null.
   */
  claimWorkflow(workflowID: string, seenAttempts: number, executorID: string, now: number): Promise<number | null>;
  /** All recorded outcomes of a workflow, in one query. */
  loadOperations(workflowID: string): Promise<OperationRow[]>;
  /** Records a step's outcome if the fence still holds; false when another execution owns it now. */
  recordOperation(op: OperationRow, fence: Fence): Promise<boolean>;
  /** Final status and output/error, if the fence still holds. */
  finishWorkflow(workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number): Promise<boolean>;
  /** Status change for cancel, park and resume; only from one of `from`. */
  setStatus(workflowID: string, status: WorkflowStatusValue, from: WorkflowStatusValue[], opts: { resetAttempts?: boolean; now: number; fence?: Fence }): Promise<boolean>;
  listWorkflows(filter: ListFilter): Promise<WorkflowRow[]>;
  upsertExecutor(e: ExecutorRow): Promise<void>;
  getExecutor(executorID: string): Promise<ExecutorRow | undefined>;
  close(): Promise<void>;
}
