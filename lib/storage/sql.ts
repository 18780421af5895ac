// The system database in SQL that both SQLite and PostgreSQL understand. A dialect only supplies a
// Driver (how to run a statement) and its schema prefix; every query lives here, once.
import { SERIALIZATION } from '../serialize.js';
import { MIGRATIONS, renderStatements } from './schema.js';
import type {
  AppDatabase,
  ExecutorRow,
  Fence,
  ListFilter,
  NewWorkflow,
  OperationRow,
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
  /** runs `fn` holding a lock that only one migrating process can hold at a time */
  withMigrationLock(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

type Raw = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function toWorkflowRow(r: Raw): WorkflowRow {
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
    writesInWith: d.writesInWith,
    run: (sql, params) => (queryStats.statements++, d.run(sql, params)),
    all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, d.all<T>(sql, params)),
    transaction: (statements) => ((queryStats.statements += statements.length), d.transaction(statements)),
    withMigrationLock: (fn) => d.withMigrationLock(fn),
    close: () => d.close(),
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
    // SQLite's second write, sent in the same turn: the outcome, if the status update above took.
    finishOutput: `INSERT INTO ${S}workflow_output (workflow_uuid, output, error) SELECT ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM ${S}workflow_status WHERE workflow_uuid = ? AND status = ? AND ${OWNER}) ${upsertOutput}`,
  };
}

/** A workflow_status row with its inputs, output and error from their own tables (older rows: from its own columns). */
const SELECT_WORKFLOW = (S: string) => `SELECT s.workflow_uuid, s.status, s.name, s.executor_id, s.application_id, s.application_version,
    s.recovery_attempts, s.parent_workflow_id, s.created_at, s.updated_at,
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

  constructor(driver: Driver) {
    const d = (this.d = counted(driver));
    this.dialect = d.dialect;
    this.description = d.description;
    this.S = d.schemaPrefix;
    this.q = hotStatements(this.S, d.writesInWith);
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
    const params = hotParams.finishWorkflow(workflowID, status, output, error, fence, now);
    if (this.d.writesInWith) return (await this.d.run(this.q.finishWorkflow, params)) === 1;
    const [changed] = await Promise.all([
      this.d.run(this.q.finishWorkflow, hotParams.statusUpdate(params)),
      this.d.run(this.q.finishOutput, hotParams.finishOutput(workflowID, status, output, error, fence)),
    ]);
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
}
