// One storage interface, two small implementations (sqlite.ts, postgres.ts). A difference between
// them is a named capability, never an `if (sqlite)` in the engine.

/** The statuses docs/DESIGN.md names, and no others. */
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
  /** set when a column cannot be read (an unknown status, a count that is not a number): the row is named, left alone, never run */
  damaged?: RowDamage;
}

/** What is wrong with a stored row, and how to fix it (lib/storage/damage.ts). */
export interface RowDamage {
  column: string;
  problem: string;
  fix: string;
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

/** What a replay reads of a recorded outcome (SystemDatabase.loadRecorded): half the columns of its row to fetch and parse. */
export type RecordedOutcome = Pick<OperationRow, 'functionID' | 'functionName' | 'output' | 'error' | 'childWorkflowID'>;

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
  /** the children of this workflow */
  parentWorkflowID?: string;
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

/** An executor's heartbeat to write: without heartbeatAt, the database's own clock stamps it. */
export type NewExecutor = Omit<ExecutorRow, 'heartbeatAt'> & { heartbeatAt?: number; applicationVersion?: string | null };

/** An executor as read, with the age of its heartbeat measured on the database's clock (ms; negative = from the future). */
export interface ExecutorStatus extends ExecutorRow {
  ageMs: number;
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
  /** only workflows of this application version, or of none (lib/versions/) */
  applicationVersion: string;
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

/** A notifications row to insert (DBOS.send). `messageID` is the row's key: the same one twice is delivered once. */
export interface NewMessage {
  messageID: string;
  destinationID: string;
  topic: string;
  /** JSON text (lib/serialize.ts) */
  message: string;
  now: number;
}

/** A workflow_schedules row, in camelCase (DBOS's columns). */
export interface ScheduleRow {
  scheduleID: string;
  scheduleName: string;
  workflowName: string;
  workflowClassName: string | null;
  /** the cron expression (5 fields, or 6 with seconds first) */
  schedule: string;
  status: 'ACTIVE' | 'PAUSED';
  /** JSON text (lib/serialize.ts) */
  context: string;
  /** ISO time of the last slot fired, or null */
  lastFiredAt: string | null;
  automaticBackfill: boolean;
  cronTimezone: string | null;
  queueName: string | null;
  applicationName: string | null;
}

export interface SystemDatabase extends QueueStorage, TransactionSteps {
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
  /** The same outcomes as a replay reads them: only what it returns or checks. */
  loadRecorded(workflowID: string): Promise<RecordedOutcome[]>;
  /** Records a step's outcome if the fence still holds; false when another execution owns it now. */
  recordOperation(op: OperationRow, fence: Fence): Promise<boolean>;
  /** Final status and output/error, if the fence still holds; with `lastStep`, that step's outcome too, in the same commit. */
  finishWorkflow(workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number, lastStep?: OperationRow): Promise<boolean>;
  /** Status change for cancel, park and resume; only from one of `from`. */
  setStatus(workflowID: string, status: WorkflowStatusValue, from: WorkflowStatusValue[], opts: { resetAttempts?: boolean; now: number; fence?: Fence }): Promise<boolean>;
  listWorkflows(filter: ListFilter): Promise<WorkflowRow[]>;
  /** Before a step runs: is this execution still the owner ('ok'), was the workflow cancelled, or does another execution own it now? */
  checkFence(workflowID: string, fence: Fence): Promise<'ok' | 'cancelled' | 'fenced'>;
  upsertExecutor(e: NewExecutor): Promise<void>;
  /**
   * Restamps a workflow with another application version (a resume with a target version):
   * CANCELLED, parked or unfinished rows only, so a finished workflow's record stays as it ran.
   * True when it changed.
   */
  moveToVersion(workflowID: string, version: string): Promise<boolean>;
  /** Every executor row, with the version it serves (`wf versions`). */
  listExecutors(): Promise<(ExecutorRow & { applicationVersion: string | null })[]>;
  getExecutor(executorID: string): Promise<ExecutorStatus | undefined>;

  // Time and messages (lib/messages, lib/schedules). Each write a workflow makes is one transaction
  // that first checks the fence (this execution still owns the workflow) and records the operation
  // with it; false or null when the fence no longer holds, and then nothing of it was written.
  /** Records a setEvent and upserts workflow_events (workflow, key) = value. */
  setEvent(op: OperationRow, key: string, value: string, fence: Fence): Promise<boolean>;
  /** The event's value (JSON text), or undefined while the key was never set. */
  getEvent(workflowID: string, key: string): Promise<string | undefined>;
  /** Inserts a message (a messageID seen before: nothing); with `recorded`, a send inside a workflow, records it too, fenced. */
  send(m: NewMessage, recorded?: { op: OperationRow; fence: Fence }): Promise<boolean>;
  /** Is an unconsumed message waiting for this workflow on this topic? */
  hasMessage(destinationID: string, topic: string): Promise<boolean>;
  /** Every event a workflow set, by key (the web page). */
  listEvents(workflowID: string): Promise<{ key: string; value: string }[]>;
  /** Every message sent to a workflow, oldest first, consumed or not (the web page). */
  listMessages(destinationID: string): Promise<{ topic: string | null; message: string; createdAt: number; consumed: boolean }[]>;
  /** Consumes the oldest waiting message (if any) and records the recv (`op`, its output that message or null), fenced. */
  recv(op: OperationRow, topic: string, fence: Fence): Promise<{ message: string | null } | null>;
  /** Inserts a schedule; `upsert` replaces its definition but keeps its status and last slot. False when `insert` finds the name taken. */
  putSchedule(s: ScheduleRow, mode: 'insert' | 'upsert'): Promise<boolean>;
  listSchedules(filter: { applicationName?: string; status?: string; scheduleName?: string }): Promise<ScheduleRow[]>;
  setScheduleStatus(scheduleName: string, status: 'ACTIVE' | 'PAUSED'): Promise<boolean>;
  deleteSchedule(scheduleName: string): Promise<boolean>;
  /** Moves last_fired_at forward to `slotIso` (never back). */
  setLastFiredAt(scheduleName: string, slotIso: string): Promise<void>;
  close(): Promise<void>;
}

// --- Transaction steps (lib/transactions/) -------------------------------------------------------
// The app's writes and the step's recorded outcome in one transaction on the one database that holds
// both: they commit together, or neither does (docs/DESIGN.md promise 13).

/** PostgreSQL's isolation levels (DBOS's PGTransactionConfig.isolationLevel); SQLite is always serializable. */
export type IsolationLevel = 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/** What a transaction records, decided once the function has returned its (serialised) value. */
export interface TransactionRecord {
  op: OperationRow;
  fence: Fence;
}

export interface TransactionOptions<T> {
  /** the outcome to record in the same transaction, fenced; none outside a workflow */
  record?: (value: T) => TransactionRecord;
  /** runs inside the transaction after the outcome is written, right before COMMIT (the harness's crash point) */
  beforeCommit?: () => void;
  /** PostgreSQL only (default READ COMMITTED, the server's default) */
  isolationLevel?: IsolationLevel;
}

export interface TransactionSteps {
  /**
   * Runs `fn` in one transaction on the app database and, in the same transaction, records the
   * outcome `record(value)` if the fence holds (the workflow's row is locked against a takeover
   * until COMMIT). `recorded: false`: the fence refused it, everything was rolled back. When `fn`
   * throws, everything is rolled back and the error is rethrown: the caller records it.
   */
  recordInTransaction<T>(fn: (tx: AppDatabase) => Promise<T>, opts: TransactionOptions<T>): Promise<{ value: T; recorded: boolean }>;
  /** A serialization failure, deadlock or busy database: the whole transaction may be tried again. */
  isRetriableTransactionError(err: unknown): boolean;
}
