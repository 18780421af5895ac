// The system database in SQL that both SQLite and PostgreSQL understand. A dialect only supplies a
// Driver (how to run a statement) and its schema prefix; every query lives here, once.
import * as queueSql from './queue-sql.js';
import { MIGRATIONS, renderStatements } from './schema.js';
import type {
  AppDatabase,
  ClaimedWorkflow,
  EnqueueOutcome,
  ExecutorRow,
  Fence,
  ListFilter,
  NewQueuedWorkflow,
  NewWorkflow,
  OperationRow,
  QueueClaim,
  QueueWorkerRow,
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
  /** runs a statement, returns the number of rows it changed */
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** runs statements in one transaction */
  transaction(statements: Statement[]): Promise<void>;
  /** runs `fn` holding a lock that only one migrating process can hold at a time */
  withMigrationLock(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
  // ---- Queues (queue-sql.ts) ----
  /** ' FOR UPDATE SKIP LOCKED' where rows can be locked one by one; '' on SQLite (one writer) */
  readonly rowLockClause: string;
  /** runs one statement in a transaction holding the lock named `lockKey`, returns its rows */
  lockedAll<T>(lockKey: string, sql: string, params: unknown[]): Promise<T[]>;
}

type Raw = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toWorkflowRow(r: Raw): WorkflowRow {
  return {
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
const FENCE = `status = 'PENDING' AND ${OWNER}`;

/** Statements this process sent through any system database (app tables included): the benchmark counts a recovery's queries with it. */
export const queryStats = { statements: 0 };

function counted(d: Driver): Driver {
  return {
    dialect: d.dialect,
    description: d.description,
    schemaPrefix: d.schemaPrefix,
    run: (sql, params) => (queryStats.statements++, d.run(sql, params)),
    all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, d.all<T>(sql, params)),
    transaction: (statements) => ((queryStats.statements += statements.length), d.transaction(statements)),
    withMigrationLock: (fn) => d.withMigrationLock(fn),
    close: () => d.close(),
    rowLockClause: d.rowLockClause,
    lockedAll: <T>(lockKey: string, sql: string, params: unknown[]) => (queryStats.statements++, d.lockedAll<T>(lockKey, sql, params)),
  };
}

/**
 * The statements of the hot path, built once per database: the same string object each call lets
 * the driver find its prepared statement without hashing a new string (a profile showed it).
 * Exported with their parameter lists (hotParams) for the benchmark, which runs them without the engine.
 */
export function hotStatements(S: string) {
  return {
    insertWorkflow: `INSERT INTO ${S}workflow_status (workflow_uuid, status, name, inputs, executor_id, application_id,
         application_version, recovery_attempts, parent_workflow_id, created_at, updated_at)
       VALUES (?, 'PENDING', ?, ?, ?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (workflow_uuid) DO NOTHING`,
    getWorkflow: `SELECT * FROM ${S}workflow_status WHERE workflow_uuid = ?`,
    claimWorkflow: `UPDATE ${S}workflow_status SET recovery_attempts = recovery_attempts + 1, executor_id = ?, updated_at = ?
       WHERE workflow_uuid = ? AND status = 'PENDING' AND recovery_attempts = ?`,
    loadOperations: `SELECT * FROM ${S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id`,
    // One statement: the insert happens only while this execution still owns the workflow.
    recordOperation: `INSERT INTO ${S}operation_outputs (workflow_uuid, function_id, function_name, output, error,
         child_workflow_id, attempts, execution_attempt, started_at_epoch_ms, completed_at_epoch_ms)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND ${FENCE})
       ON CONFLICT (workflow_uuid, function_id) DO NOTHING`,
    finishWorkflow: `UPDATE ${S}workflow_status SET status = ?, output = ?, error = ?, updated_at = ?
       WHERE workflow_uuid = ? AND ${FENCE}`,
  };
}

/** The parameters of the hot statements, in their order. */
export const hotParams = {
  insertWorkflow: (w: NewWorkflow): unknown[] =>
    [w.workflowID, w.name, w.inputs, w.executorID, w.applicationID, w.applicationVersion, w.parentWorkflowID, w.now, w.now],
  recordOperation: (op: OperationRow, fence: Fence): unknown[] =>
    [op.workflowID, op.functionID, op.functionName, op.output, op.error, op.childWorkflowID, op.attempts, fence.attempt,
      op.startedAtEpochMs, op.completedAtEpochMs, op.workflowID, fence.executorID, fence.attempt],
  finishWorkflow: (workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number): unknown[] =>
    [status, output, error, now, workflowID, fence.executorID, fence.attempt],
};

export class SqlSystemDatabase implements SystemDatabase {
  readonly dialect;
  readonly description;
  readonly app: AppDatabase;
  private readonly S: string;
  private readonly d: Driver;
  private readonly q: ReturnType<typeof hotStatements>;
  private readonly qq: ReturnType<typeof queueSql.queueStatements>;

  constructor(driver: Driver) {
    const d = (this.d = counted(driver));
    this.dialect = d.dialect;
    this.description = d.description;
    this.S = d.schemaPrefix;
    this.q = hotStatements(this.S);
    this.qq = queueSql.queueStatements(this.S, d.rowLockClause);
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

  async insertWorkflow(w: NewWorkflow): Promise<{ row: WorkflowRow; created: boolean }> {
    const changed = await this.d.run(this.q.insertWorkflow, hotParams.insertWorkflow(w));
    if (changed === 1) {
      const row: WorkflowRow = {
        workflowID: w.workflowID, status: 'PENDING', name: w.name, inputs: w.inputs, output: null, error: null,
        executorID: w.executorID, applicationID: w.applicationID, applicationVersion: w.applicationVersion,
        recoveryAttempts: 1, parentWorkflowID: w.parentWorkflowID, createdAt: w.now, updatedAt: w.now,
      };
      return { row, created: true };
    }
    const row = await this.getWorkflow(w.workflowID);
    if (!row) throw new Error(`workflow ${w.workflowID} vanished between insert and read`);
    return { row, created: false };
  }

  async getWorkflow(workflowID: string): Promise<WorkflowRow | undefined> {
    const rows = await this.d.all<Raw>(this.q.getWorkflow, [workflowID]);
    return rows[0] ? toWorkflowRow(rows[0]) : undefined;
  }

  async claimWorkflow(workflowID: string, seenAttempts: number, executorID: string, now: number): Promise<number | null> {
    const changed = await this.d.run(
      this.q.claimWorkflow,
      [executorID, now, workflowID, seenAttempts],
    );
    return changed === 1 ? seenAttempts + 1 : null;
  }

  async loadOperations(workflowID: string): Promise<OperationRow[]> {
    const rows = await this.d.all<Raw>(this.q.loadOperations, [workflowID]);
    return rows.map(toOperationRow);
  }

  async recordOperation(op: OperationRow, fence: Fence): Promise<boolean> {
    const changed = await this.d.run(this.q.recordOperation, hotParams.recordOperation(op, fence));
    return changed === 1;
  }

  async finishWorkflow(workflowID: string, status: WorkflowStatusValue, output: string | null, error: string | null, fence: Fence, now: number): Promise<boolean> {
    const changed = await this.d.run(this.q.finishWorkflow, hotParams.finishWorkflow(workflowID, status, output, error, fence, now));
    return changed === 1;
  }

  async setStatus(workflowID: string, status: WorkflowStatusValue, from: WorkflowStatusValue[], opts: { resetAttempts?: boolean; now: number; fence?: Fence }): Promise<boolean> {
    const params: unknown[] = [status, opts.now, workflowID, ...from];
    let sql = `UPDATE ${this.S}workflow_status SET status = ?, updated_at = ?${opts.resetAttempts ? ', recovery_attempts = 0, executor_id = NULL' : ''}
       WHERE workflow_uuid = ? AND status IN (${from.map(() => '?').join(', ')})`;
    if (opts.fence) {
      sql += ` AND ${OWNER}`;
      params.push(opts.fence.executorID, opts.fence.attempt);
    }
    return (await this.d.run(sql, params)) === 1;
  }

  async listWorkflows(f: ListFilter): Promise<WorkflowRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const inList = (col: string, values: unknown[]) => {
      where.push(`${col} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    if (f.workflowIDs) inList('workflow_uuid', f.workflowIDs.length ? f.workflowIDs : [null]);
    if (f.status !== undefined) inList('status', ([] as string[]).concat(f.status));
    if (f.workflowName !== undefined) (where.push('name = ?'), params.push(f.workflowName));
    if (f.applicationID !== undefined) (where.push('application_id = ?'), params.push(f.applicationID));
    if (f.startTime !== undefined) (where.push('created_at >= ?'), params.push(f.startTime));
    if (f.endTime !== undefined) (where.push('created_at <= ?'), params.push(f.endTime));
    let sql = `SELECT * FROM ${this.S}workflow_status`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    // Ties (same millisecond) break by id in the same direction, so sortDesc is exactly the reverse order.
    const dir = f.sortDesc ? 'DESC' : 'ASC';
    sql += ` ORDER BY created_at ${dir}, workflow_uuid ${dir}`;
    if (f.limit !== undefined || f.offset !== undefined) (sql += ' LIMIT ?', params.push(f.limit ?? Number.MAX_SAFE_INTEGER));
    if (f.offset !== undefined) (sql += ' OFFSET ?', params.push(f.offset));
    return (await this.d.all<Raw>(sql, params)).map(toWorkflowRow);
  }

  async upsertExecutor(e: ExecutorRow): Promise<void> {
    await this.d.run(
      `INSERT INTO ${this.S}executors (executor_id, hostname, pid, heartbeat_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (executor_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [e.executorID, e.hostname, e.pid, e.heartbeatAt],
    );
  }

  async getExecutor(executorID: string): Promise<ExecutorRow | undefined> {
    const rows = await this.d.all<Raw>(`SELECT * FROM ${this.S}executors WHERE executor_id = ?`, [executorID]);
    const r = rows[0];
    return r && { executorID: String(r.executor_id), hostname: String(r.hostname), pid: num(r.pid), heartbeatAt: num(r.heartbeat_at) };
  }

  close(): Promise<void> {
    return this.d.close();
  }

  // ---- Queues: the SQL is in queue-sql.ts ----
  enqueueWorkflow(w: NewQueuedWorkflow): Promise<EnqueueOutcome> {
    return queueSql.enqueueWorkflow(this.d, this.S, this.qq, w, (id) => this.getWorkflow(id), toWorkflowRow);
  }

  claimQueued(c: QueueClaim): Promise<ClaimedWorkflow[]> {
    return queueSql.claimQueued(this.d, this.qq, c);
  }

  async requeueWorkflow(workflowID: string, executorID: string | null, attempt: number, now: number): Promise<boolean> {
    return (await this.d.run(this.qq.requeue, [now, workflowID, executorID, attempt])) === 1;
  }

  listQueueRows(queueName: string | undefined, statuses?: string[]): Promise<WorkflowRow[]> {
    return queueSql.listQueueRows(this.d, this.S, queueName, statuses, toWorkflowRow);
  }

  registerQueueWorker(w: QueueWorkerRow): Promise<void> {
    return queueSql.registerQueueWorker(this.d, this.S, w);
  }

  listQueueWorkers(): Promise<QueueWorkerRow[]> {
    return queueSql.listQueueWorkers(this.d, this.S);
  }
}
