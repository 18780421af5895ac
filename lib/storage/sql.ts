// The system database in SQL that both SQLite and PostgreSQL understand. A dialect only supplies a
// Driver (driver.ts: how to run a statement) and its schema prefix; every query lives in this folder,
// once: the hot path's (start, step, end, fence) in hot-sql.ts, the rest here or in the files this
// class delegates to (messages-sql.ts, queue-sql.ts, sql-transactions.ts, migrate.ts). Rows become
// the engine's types in rows.ts.
import { counted, type Driver } from './driver.js';
import { OWNER, SELECT_WORKFLOW, hotParams, hotStatements } from './hot-sql.js';
import { MessagesSql } from './messages-sql.js';
import { migrate as runMigrations } from './migrate.js';
import * as queueSql from './queue-sql.js';
import { num, str, toOperationRow, toRecordedOutcome, toWorkflowRow, type Raw } from './rows.js';
import { recordInTransaction } from './sql-transactions.js';
import { withDatabaseRetry } from './transient.js';
import type {
  AppDatabase,
  ClaimedWorkflow,
  EnqueueOutcome,
  ExecutorRow,
  ExecutorStatus,
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
  RecordedOutcome,
  ScheduleRow,
  SystemDatabase,
  WorkflowRow,
  WorkflowStatusValue,
} from './types.js';

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
    this.qq = queueSql.queueStatements(this.S, d, SELECT_WORKFLOW(this.S));
    this.app = {
      dialect: d.dialect,
      schemaPrefix: d.schemaPrefix,
      exec: async (sql) => void (await d.run(sql)),
      query: (sql, params) => d.all(sql, params),
      batch: (statements) => d.transaction(statements),
    };
  }

  migrate(): Promise<void> {
    return runMigrations(this.d);
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

  async loadRecorded(workflowID: string): Promise<RecordedOutcome[]> {
    const rows = await withDatabaseRetry(() => `reading the steps of workflow ${workflowID}`, () => this.d.all<Raw>(this.q.loadRecorded, [workflowID]));
    return rows.map(toRecordedOutcome);
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
          ? this.d.run(this.q.finishWithStep, hotParams.finishWithStep(workflowID, status, output, error, fence, now, lastStep))
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
    if (f.parentWorkflowID !== undefined) (where.push('s.parent_workflow_id = ?'), params.push(f.parentWorkflowID));
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
    // With it, the application version the executor serves (migration 7), read by `wf versions`.
    const params = [e.executorID, e.hostname, e.pid, e.applicationVersion ?? null, ...(e.heartbeatAt === undefined ? [] : [e.heartbeatAt])];
    await withDatabaseRetry(() => 'the heartbeat of this executor', () =>
      this.d.run(
        `INSERT INTO ${this.S}executors (executor_id, hostname, pid, application_version, heartbeat_at) VALUES (?, ?, ?, ?, ${at})
         ON CONFLICT (executor_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, application_version = excluded.application_version`,
        params,
      ),
    );
  }

  async listExecutors(): Promise<(ExecutorRow & { applicationVersion: string | null })[]> {
    const rows = await this.d.all<Raw>(`SELECT executor_id, hostname, pid, heartbeat_at, application_version FROM ${this.S}executors`);
    return rows.map((r) => ({ executorID: String(r.executor_id), hostname: String(r.hostname), pid: num(r.pid), heartbeatAt: num(r.heartbeat_at), applicationVersion: str(r.application_version) }));
  }

  async moveToVersion(workflowID: string, version: string): Promise<boolean> {
    const changed = await this.d.run(
      `UPDATE ${this.S}workflow_status SET application_version = ?, updated_at = ?
       WHERE workflow_uuid = ? AND status IN ('PENDING', 'ENQUEUED', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')`,
      [version, Date.now(), workflowID],
    );
    return changed === 1;
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
  listEvents(workflowID: string): Promise<{ key: string; value: string }[]> { return this.msg.listEvents(workflowID); }
  listMessages(destinationID: string) { return this.msg.listMessages(destinationID); }
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
