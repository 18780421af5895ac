// The system database in SQL that both SQLite and PostgreSQL understand. A dialect only supplies a
// Driver (how to run a statement) and its schema prefix; every query lives here, once.
import { SERIALIZATION } from '../serialize.js';
import { rowDamage } from './damage.js';
import { MessagesSql } from './messages-sql.js';
import * as queueSql from './queue-sql.js';
import { MIGRATIONS, renderStatements } from './schema.js';
import { finishWithStepParams, finishWithStepStatement } from './finish-sql.js';
import { recordInTransaction } from './sql-transactions.js';
import { withDatabaseRetry } from './transient.js';
import type {
  AppDatabase,
  ClaimedWorkflow,
  EnqueueOutcome,
  ExecutorRow,
  ExecutorStatus,
  IsolationLevel,
  TransactionOptions,
  Fence,
  ListFilter,
  NewExecutor,
  NewMessage,
  NewQueuedWorkflow,
  NewWorkflow,
  OperationRow,
  QueueClaim,
  QueueWorkerRow,
  ScheduleRow,
  SystemDatabase,
  WorkflowRow,
  WorkflowStatusValue,
} from './types.js';

export interface Statement {
  sql: string;
  params?: unknown[];
}

/** What a dialect must provide. SQL uses `?` placeholders; the driver adapts them. */
export interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  readonly description: string;
  /** 'dbos.' on PostgreSQL, '' on SQLite */
  readonly schemaPrefix: string;
  /** an SQL expression for the database's own clock in epoch ms (leases are judged on it, never on a process's clock) */
  readonly nowMsSql: string;
  /**
   * PostgreSQL runs an INSERT or UPDATE inside WITH, so a workflow's row and its inputs (or its
   * status and its output) go in one statement. SQLite does not; its group commit puts two writes
   * sent in the same turn into one transaction instead.
   */
  readonly writesInWith: boolean;
  /** runs a statement, returns the number of rows it changed */
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** runs statements in one transaction */
  transaction(statements: Statement[]): Promise<void>;
  /**
   * Runs statements in one transaction and returns each one's rows (a RETURNING, a SELECT). When a
   * statement marked `mustChange` changes no row, rolls everything back and returns null.
   */
  guardedTransaction(statements: (Statement & { mustChange?: boolean })[]): Promise<unknown[][] | null>;
  /** runs `fn` holding a lock that only one migrating process can hold at a time */
  withMigrationLock(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
  // ---- Queues (queue-sql.ts) ----
  /** ' FOR UPDATE SKIP LOCKED' where rows can be locked one by one; '' on SQLite (one writer) */
  readonly rowLockClause: string;
  /** runs one statement in a transaction holding the lock named `lockKey`, returns its rows */
  lockedAll<T>(lockKey: string, sql: string, params: unknown[]): Promise<T[]>;
  // Transaction steps (lib/transactions/):
  /** runs `fn` on one connection between BEGIN and COMMIT; ROLLBACK when it throws. Nothing else of this process's writes goes in between. */
  interactive<T>(fn: (t: TxConnection) => Promise<T>, isolationLevel?: IsolationLevel): Promise<T>;
  /** the clause that locks the rows a SELECT read until COMMIT: ' FOR SHARE' on PostgreSQL, '' on SQLite (its write lock covers the whole file) */
  readonly lockRowsClause: string;
  isRetriable(err: unknown): boolean;
}

/** The statements of one open transaction (Driver.interactive). */
export interface TxConnection {
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

type Raw = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

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

function toOperationRow(r: Raw): OperationRow {
  return {
    workflowID: String(r.workflow_uuid),
    functionID: num(r.function_id),
    functionName: String(r.function_name),
    output: str(r.output),
    error: str(r.error),
    childWorkflowID: str(r.child_workflow_id),
    attempts: num(r.attempts),
    executionAttempt: r.execution_attempt === null || r.execution_attempt === undefined ? null : num(r.execution_attempt),
    startedAtEpochMs: num(r.started_at_epoch_ms),
    completedAtEpochMs: num(r.completed_at_epoch_ms),
  };
}

/** This execution owns the workflow: its executor and its execution attempt (the fence of every write). */
const OWNER = `executor_id = ? AND recovery_attempts = ?`;
export const FENCE = `status = 'PENDING' AND ${OWNER}`;

/** Statements this process sent through any system database (app tables included): the benchmark counts a recovery's queries with it. */
export const queryStats = { statements: 0 };

function counted(d: Driver): Driver {
  return {
    dialect: d.dialect,
    description: d.description,
    schemaPrefix: d.schemaPrefix,
    nowMsSql: d.nowMsSql,
    writesInWith: d.writesInWith,
    run: (sql, params) => (queryStats.statements++, d.run(sql, params)),
    all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, d.all<T>(sql, params)),
    transaction: (statements) => ((queryStats.statements += statements.length), d.transaction(statements)),
    guardedTransaction: (statements) => ((queryStats.statements += statements.length), d.guardedTransaction(statements)),
    withMigrationLock: (fn) => d.withMigrationLock(fn),
    close: () => d.close(),
    interactive: (fn, isolation) => d.interactive((t) => fn({
      run: (sql, params) => (queryStats.statements++, t.run(sql, params)),
      all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, t.all<T>(sql, params)),
    }), isolation),
    lockRowsClause: d.lockRowsClause,
    isRetriable: (err) => d.isRetriable(err),
    rowLockClause: d.rowLockClause,
    lockedAll: <T>(lockKey: string, sql: string, params: unknown[]) => (queryStats.statements++, d.lockedAll<T>(lockKey, sql, params)),
  };
}

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
    // One statement: the insert happens only while this execution still owns the workflow.
    recordOperation: `INSERT INTO ${S}operation_outputs (workflow_uuid, function_id, function_name, output, error,
         child_workflow_id, attempts, execution_attempt, serialization, started_at_epoch_ms, completed_at_epoch_ms)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND ${FENCE})
       ON CONFLICT (workflow_uuid, function_id) DO NOTHING`,
    // The final status and the outcome (workflow_output), written only while the fence holds.
    finishWorkflow: writesInWith
      ? `WITH s AS (${updateStatus} RETURNING workflow_uuid) INSERT INTO ${S}workflow_output (workflow_uuid, output, error)
         SELECT workflow_uuid, ?, ? FROM s ${upsertOutput}`
      : updateStatus,
    // The same, with the last step's outcome, kept pending until now, in the same commit (finish-sql.ts).
    finishWithStep: finishWithStepStatement(S, updateStatus, upsertOutput),
    // SQLite's second write, sent in the same turn: the outcome, if the status update above took.
    finishOutput: `INSERT INTO ${S}workflow_output (workflow_uuid, output, error) SELECT ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND status = ? AND ${OWNER}) ${upsertOutput}`,
    checkFence: `SELECT status, executor_id, recovery_attempts FROM ${S}workflow_status WHERE workflow_uuid = ?`,
  };
}

/** A workflow_status row with its inputs, output and error from their own tables (older rows: from its own columns). */
const SELECT_WORKFLOW = (S: string) => `SELECT s.workflow_uuid, s.status, s.name, s.executor_id, s.application_id, s.application_version,
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
    [op.workflowID, op.functionID, op.functionName, op.output, op.error, op.childWorkflowID, op.attempts, fence.attempt, SERIALIZATION,
      op.startedAtEpochMs, op.completedAtEpochMs, op.workflowID, fence.executorID, fence.attempt],
  /** the status update's parameters, then output and error (SQLite's update takes the first 5: hotParams.statusUpdate) */
  finishWorkflow: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number): unknown[] =>
    [status, now, workflowID, fence.executorID, fence.attempt, output, error],
  statusUpdate: (params: unknown[]): unknown[] => params.slice(0, 5),
  finishOutput: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence): unknown[] =>
    [workflowID, output, error, workflowID, status, fence.executorID, fence.attempt],
};

export class SqlSystemDatabase implements SystemDatabase {
  readonly dialect;
  readonly description;
  readonly app: AppDatabase;
  private readonly S: string;
  private readonly d: Driver;
  private readonly q: ReturnType<typeof hotStatements>;
  private readonly msg: MessagesSql;
  private readonly qq: ReturnType<typeof queueSql.queueStatements>;

  constructor(driver: Driver) {
    const d = (this.d = counted(driver));
    this.dialect = d.dialect;
    this.description = d.description;
    this.S = d.schemaPrefix;
    this.q = hotStatements(this.S, d.writesInWith);
    this.msg = new MessagesSql(d, this.S, (op, fence) => ({ sql: this.q.recordOperation, params: hotParams.recordOperation(op, fence) }), (op, fence) => this.recordedBy(op, fence));
    this.qq = queueSql.queueStatements(this.S, d.rowLockClause, SELECT_WORKFLOW(this.S));
    this.app = {
      dialect: d.dialect,
      schemaPrefix: d.schemaPrefix,
      exec: async (sql) => void (await d.run(sql)),
      query: (sql, params) => d.all(sql, params),
      batch: (statements) => d.transaction(statements),
    };
  }

  async migrate(): Promise<void> {
    const S = this.S;
    // Usually every migration is in already: one read says so, without the lock and the second
    // connection it takes (a third of launch()'s time on PostgreSQL, issue 20). No table yet, or a missing version: the lock.
    const seen = await this.d.all<Raw>(`SELECT version FROM ${S}workbook_migrations`).catch(() => []);
    if (MIGRATIONS.every((m) => seen.some((r) => num(r.version) === m.version))) return;
    await this.d.withMigrationLock(async () => {
      await this.d.run(`CREATE TABLE IF NOT EXISTS ${S}workbook_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
      const applied = async () => new Set((await this.d.all<Raw>(`SELECT version FROM ${S}workbook_migrations`)).map((r) => num(r.version)));
      const done = await applied();
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        try {
          await this.d.transaction([
            ...renderStatements(m, S, this.dialect).map((sql) => ({ sql })),
            { sql: `INSERT INTO ${S}workbook_migrations (version, applied_at) VALUES (?, ?)`, params: [m.version, Date.now()] },
          ]);
        } catch (err) {
          // Another process applied it between our read and our transaction (SQLite has no lock to hold across both).
          if (!(await applied()).has(m.version)) throw err;
        }
      }
    });
  }

  // Every statement of the engine below is retried while the database is away (transient.ts). A
  // write whose first try may have committed before its connection died checks, on a later try,
  // whether the row it would write is already its own, so a lost reply is not taken for a refusal.

  async insertWorkflow(w: NewWorkflow): Promise<{ row: WorkflowRow; created: boolean }> {
    return withDatabaseRetry(() => `the start of workflow ${w.workflowID}`, async (attempt) => {
      const params = hotParams.insertWorkflow(w);
      const changed = this.d.writesInWith
        ? await this.d.run(this.q.insertWorkflow, params)
        : (await Promise.all([this.d.run(this.q.insertWorkflow, hotParams.statusOnly(params)), this.d.run(this.q.insertInputs, [w.workflowID, w.inputs])]))[0];
      if (changed === 1) {
        const row: WorkflowRow = {
          workflowID: w.workflowID, status: 'PENDING', name: w.name, inputs: w.inputs, output: null, error: null,
          executorID: w.executorID, applicationID: w.applicationID, applicationVersion: w.applicationVersion,
          recoveryAttempts: 1, parentWorkflowID: w.parentWorkflowID, createdAt: w.now, updatedAt: w.now,
        };
        return { row, created: true };
      }
      const row = await this.readWorkflow(w.workflowID);
      if (!row) throw new Error(`workflow ${w.workflowID} vanished between insert and read`);
      const ours = attempt > 1 && row.executorID === w.executorID && row.recoveryAttempts === 1 && row.createdAt === w.now && row.status === 'PENDING';
      return { row, created: ours };
    });
  }

  private async readWorkflow(workflowID: string): Promise<WorkflowRow | undefined> {
    const rows = await this.d.all<Raw>(this.q.getWorkflow, [workflowID]);
    return rows[0] ? toWorkflowRow(rows[0]) : undefined;
  }

  getWorkflow(workflowID: string): Promise<WorkflowRow | undefined> {
    return withDatabaseRetry(() => `reading workflow ${workflowID}`, () => this.readWorkflow(workflowID));
  }

  async claimWorkflow(workflowID: string, seenAttempts: number, executorID: string, now: number): Promise<number | null> {
    return withDatabaseRetry(() => `the claim of workflow ${workflowID}`, async (attempt) => {
      const changed = await this.d.run(this.q.claimWorkflow, [executorID, now, workflowID, seenAttempts]);
      if (changed === 1) return seenAttempts + 1;
      if (attempt === 1) return null;
      const row = await this.readWorkflow(workflowID);
      return row?.status === 'PENDING' && row.executorID === executorID && row.recoveryAttempts === seenAttempts + 1 ? seenAttempts + 1 : null;
    });
  }

  async loadOperations(workflowID: string): Promise<OperationRow[]> {
    const rows = await withDatabaseRetry(() => `reading the steps of workflow ${workflowID}`, () => this.d.all<Raw>(this.q.loadOperations, [workflowID]));
    return rows.map(toOperationRow);
  }

  async recordOperation(op: OperationRow, fence: Fence): Promise<boolean> {
    return withDatabaseRetry(() => `recording step ${op.functionID} (${op.functionName}) of workflow ${op.workflowID}`, async (attempt) => {
      const changed = await this.d.run(this.q.recordOperation, hotParams.recordOperation(op, fence));
      if (changed === 1) return true;
      if (attempt === 1) return false;
      return (await this.recordedBy(op, fence)) !== undefined;
    });
  }

  async finishWorkflow(workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number, lastStep?: OperationRow): Promise<boolean> {
    return withDatabaseRetry(() => `recording the outcome of workflow ${workflowID}`, async (attempt) => {
      const params = hotParams.finishWorkflow(workflowID, status, output, error, fence, now);
      const changed = this.d.writesInWith
        ? await (lastStep
          ? this.d.run(this.q.finishWithStep, finishWithStepParams(workflowID, status, output, error, fence, now, lastStep))
          : this.d.run(this.q.finishWorkflow, params))
        : (await Promise.all([
          ...(lastStep ? [this.d.run(this.q.recordOperation, hotParams.recordOperation(lastStep, fence))] : []),
          this.d.run(this.q.finishWorkflow, hotParams.statusUpdate(params)),
          this.d.run(this.q.finishOutput, hotParams.finishOutput(workflowID, status, output, error, fence)),
        ])).at(-2)!;
      if (changed === 1) return true;
      if (attempt === 1) return false;
      const row = await this.readWorkflow(workflowID);
      return row?.status === status && row.executorID === fence.executorID && row.recoveryAttempts === fence.attempt;
    });
  }

  /** Before a step runs: may this execution still run it? One indexed read of the workflow's row. */
  async checkFence(workflowID: string, fence: Fence): Promise<'ok' | 'cancelled' | 'fenced'> {
    const rows = await withDatabaseRetry(() => `checking workflow ${workflowID} before a step`, () => this.d.all<Raw>(this.q.checkFence, [workflowID]));
    const r = rows[0];
    if (r?.status === 'CANCELLED') return 'cancelled';
    return r?.status === 'PENDING' && r.executor_id === fence.executorID && num(r.recovery_attempts) === fence.attempt ? 'ok' : 'fenced';
  }

  async setStatus(workflowID: string, status: WorkflowStatusValue, from: WorkflowStatusValue[], opts: { resetAttempts?: boolean; now: number; fence?: Fence }): Promise<boolean> {
    const params: unknown[] = [status, opts.now, workflowID, ...from];
    let sql = `UPDATE ${this.S}workflow_status SET status = ?, updated_at = ?${opts.resetAttempts ? ', recovery_attempts = 0, executor_id = NULL' : ''}
       WHERE workflow_uuid = ? AND status IN (${from.map(() => '?').join(', ')})`;
    if (opts.fence) {
      sql += ` AND ${OWNER}`;
      params.push(opts.fence.executorID, opts.fence.attempt);
    }
    return withDatabaseRetry(() => `setting workflow ${workflowID} to ${status}`, async (attempt) => {
      if ((await this.d.run(sql, params)) === 1) return true;
      if (attempt === 1) return false;
      const row = await this.readWorkflow(workflowID);
      return row?.status === status && row.updatedAt === opts.now; // our first try committed before its reply was lost
    });
  }

  async listWorkflows(f: ListFilter): Promise<WorkflowRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const inList = (col: string, values: unknown[]) => {
      where.push(`${col} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    if (f.workflowIDs) inList('s.workflow_uuid', f.workflowIDs.length ? f.workflowIDs : [null]);
    if (f.status !== undefined) inList('s.status', ([] as string[]).concat(f.status));
    if (f.workflowName !== undefined) (where.push('s.name = ?'), params.push(f.workflowName));
    if (f.applicationID !== undefined) (where.push('s.application_id = ?'), params.push(f.applicationID));
    if (f.startTime !== undefined) (where.push('s.created_at >= ?'), params.push(f.startTime));
    if (f.endTime !== undefined) (where.push('s.created_at <= ?'), params.push(f.endTime));
    let sql = SELECT_WORKFLOW(this.S);
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    // Ties (same millisecond) break by id in the same direction, so sortDesc is exactly the reverse order.
    const dir = f.sortDesc ? 'DESC' : 'ASC';
    sql += ` ORDER BY s.created_at ${dir}, s.workflow_uuid ${dir}`;
    if (f.limit !== undefined || f.offset !== undefined) (sql += ' LIMIT ?', params.push(f.limit ?? Number.MAX_SAFE_INTEGER));
    if (f.offset !== undefined) (sql += ' OFFSET ?', params.push(f.offset));
    return (await withDatabaseRetry(() => 'listing workflows', () => this.d.all<Raw>(sql, params))).map(toWorkflowRow);
  }

  async upsertExecutor(e: NewExecutor): Promise<void> {
    // The heartbeat is the database's time, not ours: a process whose clock is off cannot stretch or cut a lease.
    const at = e.heartbeatAt === undefined ? this.d.nowMsSql : '?';
    const params = [e.executorID, e.hostname, e.pid, ...(e.heartbeatAt === undefined ? [] : [e.heartbeatAt])];
    await withDatabaseRetry(() => 'the heartbeat of this executor', () =>
      this.d.run(
        `INSERT INTO ${this.S}executors (executor_id, hostname, pid, heartbeat_at) VALUES (?, ?, ?, ${at})
         ON CONFLICT (executor_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
        params,
      ),
    );
  }

  async getExecutor(executorID: string): Promise<ExecutorStatus | undefined> {
    const rows = await withDatabaseRetry(() => `reading executor ${executorID}`, () =>
      this.d.all<Raw>(`SELECT executor_id, hostname, pid, heartbeat_at, ${this.d.nowMsSql} - heartbeat_at AS age_ms FROM ${this.S}executors WHERE executor_id = ?`, [executorID]),
    );
    const r = rows[0];
    return r && { executorID: String(r.executor_id), hostname: String(r.hostname), pid: num(r.pid), heartbeatAt: num(r.heartbeat_at), ageMs: num(r.age_ms) };
  }

  private async recordedBy(op: OperationRow, fence: Fence): Promise<{ output: string | null } | undefined> {
    const rows = await this.d.all<Raw>(`SELECT output, execution_attempt FROM ${this.S}operation_outputs WHERE workflow_uuid = ? AND function_id = ?`, [op.workflowID, op.functionID]);
    return rows.length === 1 && num(rows[0].execution_attempt) === fence.attempt ? { output: rows[0].output === null ? null : String(rows[0].output) } : undefined;
  }

  // ---- Time and messages (issue 17): the SQL is in messages-sql.ts ----
  setEvent(op: OperationRow, key: string, value: string, fence: Fence): Promise<boolean> { return this.msg.setEvent(op, key, value, fence); }
  getEvent(workflowID: string, key: string): Promise<string | undefined> { return this.msg.getEvent(workflowID, key); }
  send(m: NewMessage, recorded?: { op: OperationRow; fence: Fence }): Promise<boolean> { return this.msg.send(m, recorded); }
  hasMessage(destinationID: string, topic: string): Promise<boolean> { return this.msg.hasMessage(destinationID, topic); }
  recv(op: OperationRow, topic: string, fence: Fence): Promise<{ message: string | null } | null> { return this.msg.recv(op, topic, fence); }
  putSchedule(s: ScheduleRow, mode: 'insert' | 'upsert'): Promise<boolean> { return this.msg.putSchedule(s, mode); }
  listSchedules(f: { applicationName?: string; status?: string; scheduleName?: string }): Promise<ScheduleRow[]> { return this.msg.listSchedules(f); }
  setScheduleStatus(scheduleName: string, status: 'ACTIVE' | 'PAUSED'): Promise<boolean> { return this.msg.setScheduleStatus(scheduleName, status); }
  deleteSchedule(scheduleName: string): Promise<boolean> { return this.msg.deleteSchedule(scheduleName); }
  setLastFiredAt(scheduleName: string, slotIso: string): Promise<void> { return this.msg.setLastFiredAt(scheduleName, slotIso); }

  close(): Promise<void> {
    return this.d.close();
  }

  // --- Transaction steps (lib/transactions/): the app's writes and the outcome, one transaction (sql-transactions.ts) ---

  recordInTransaction<T>(fn: (tx: AppDatabase) => Promise<T>, opts: TransactionOptions<T>): Promise<{ value: T; recorded: boolean }> {
    return recordInTransaction(this.d, this.q.recordOperation, this.app, fn, opts);
  }

  isRetriableTransactionError(err: unknown): boolean {
    return this.d.isRetriable(err);
  }

  // ---- Queues: the SQL is in queue-sql.ts ----
  enqueueWorkflow(w: NewQueuedWorkflow): Promise<EnqueueOutcome> {
    return queueSql.enqueueWorkflow(this.d, this.qq, w, (id) => this.getWorkflow(id), toWorkflowRow);
  }

  claimQueued(c: QueueClaim): Promise<ClaimedWorkflow[]> {
    return queueSql.claimQueued(this.d, this.qq, c);
  }

  async requeueWorkflow(workflowID: string, executorID: string | null, attempt: number, now: number): Promise<boolean> {
    return (await this.d.run(this.qq.requeue, [now, workflowID, executorID, attempt])) === 1;
  }

  listQueueRows(queueName: string | undefined, statuses?: string[]): Promise<WorkflowRow[]> {
    return queueSql.listQueueRows(this.d, this.qq, queueName, statuses, toWorkflowRow);
  }

  registerQueueWorker(w: QueueWorkerRow): Promise<void> {
    return queueSql.registerQueueWorker(this.d, this.S, w);
  }

  listQueueWorkers(): Promise<QueueWorkerRow[]> {
    return queueSql.listQueueWorkers(this.d, this.S);
  }
}
