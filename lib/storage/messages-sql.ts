// The SQL of time and messages (issue 17: lib/messages/, lib/schedules/) on both databases: events,
// messages, schedules. Kept apart from sql.ts, which delegates here.
//
// A workflow's write here is one guarded transaction: `fence` first (it changes the workflow's row
// only while this execution owns it, and on PostgreSQL holds that row's lock until the commit, so a
// claim by another process waits for it), then the operation's record, then the write itself.
import type { Driver, Statement } from './driver.js';
import { FENCE } from './hot-sql.js';
import { withDatabaseRetry } from './transient.js';
import type { Fence, NewMessage, OperationRow, ScheduleRow } from './types.js';
import { str, type Raw } from './rows.js';


const NULL_TOPIC = '__null__topic__'; // DBOS's topic for "no topic"
export { NULL_TOPIC };

export function timeAndMessageStatements(S: string) {
  return {
    fence: `UPDATE ${S}workflow_status SET updated_at = ? WHERE workflow_uuid = ? AND ${FENCE}`,
    upsertEvent: `INSERT INTO ${S}workflow_events (workflow_uuid, key, value) VALUES (?, ?, ?)
       ON CONFLICT (workflow_uuid, key) DO UPDATE SET value = excluded.value`,
    getEvent: `SELECT value FROM ${S}workflow_events WHERE workflow_uuid = ? AND key = ?`,
    insertMessage: `INSERT INTO ${S}notifications (message_uuid, destination_uuid, topic, message, created_at_epoch_ms)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_uuid) DO NOTHING`,
    hasMessage: `SELECT 1 AS waiting FROM ${S}notifications WHERE destination_uuid = ? AND topic = ? AND consumed = FALSE LIMIT 1`,
    // The oldest waiting message, marked with the recv's function id (messages in the order sent, as DBOS).
    consume: `UPDATE ${S}notifications SET consumed = TRUE, consumed_by_function_id = ?
       WHERE message_uuid = (SELECT message_uuid FROM ${S}notifications WHERE destination_uuid = ? AND topic = ? AND consumed = FALSE
         ORDER BY created_at_epoch_ms, message_uuid LIMIT 1)
       RETURNING message`,
    // The recv's outcome is the message that `consume` just marked (none: null, the timeout).
    recordRecv: `INSERT INTO ${S}operation_outputs (workflow_uuid, function_id, function_name, output, error,
         child_workflow_id, attempts, execution_attempt, started_at_epoch_ms, completed_at_epoch_ms)
       SELECT ?, ?, ?, (SELECT message FROM ${S}notifications WHERE destination_uuid = ? AND consumed_by_function_id = ?), NULL, NULL, 1, ?, ?, ?
       ON CONFLICT (workflow_uuid, function_id) DO NOTHING`,
    insertSchedule: `INSERT INTO ${S}workflow_schedules (schedule_id, schedule_name, workflow_name, workflow_class_name, schedule,
         status, context, last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    upsertScheduleTail: ` ON CONFLICT (schedule_name) DO UPDATE SET workflow_name = excluded.workflow_name,
         workflow_class_name = excluded.workflow_class_name, schedule = excluded.schedule, context = excluded.context,
         automatic_backfill = excluded.automatic_backfill, cron_timezone = excluded.cron_timezone,
         queue_name = excluded.queue_name, application_name = excluded.application_name`,
    setLastFiredAt: `UPDATE ${S}workflow_schedules SET last_fired_at = ? WHERE schedule_name = ? AND (last_fired_at IS NULL OR last_fired_at < ?)`,
  };
}

const bool = (v: unknown) => v === true || Number(v) === 1;

function toScheduleRow(r: Raw): ScheduleRow {
  return {
    scheduleID: String(r.schedule_id), scheduleName: String(r.schedule_name), workflowName: String(r.workflow_name),
    workflowClassName: str(r.workflow_class_name), schedule: String(r.schedule), status: String(r.status) as ScheduleRow['status'],
    context: String(r.context), lastFiredAt: str(r.last_fired_at), automaticBackfill: bool(r.automatic_backfill),
    cronTimezone: str(r.cron_timezone), queueName: str(r.queue_name), applicationName: str(r.application_name),
  };
}

/** The time-and-messages half of SqlSystemDatabase: it records operations with the statement and the check sql.ts gives it. */
export class MessagesSql {
  private readonly tm: ReturnType<typeof timeAndMessageStatements>;

  constructor(
    private readonly d: Driver,
    private readonly S: string,
    /** the statement that records an operation's outcome, fenced (hot-sql.ts recordOperation) */
    private readonly recordStatement: (op: OperationRow, fence: Fence) => Statement,
    /** the operation's recorded outcome when this execution attempt recorded it */
    private readonly recordedBy: (op: OperationRow, fence: Fence) => Promise<{ output: string | null } | undefined>,
  ) {
    this.tm = timeAndMessageStatements(S);
  }

  private fenced(op: OperationRow, fence: Fence) {
    return [
      { sql: this.tm.fence, params: [Date.now(), op.workflowID, fence.executorID, fence.attempt], mustChange: true },
      { ...this.recordStatement(op, fence), mustChange: true },
    ];
  }

  /**
   * A guarded write, retried through a database that is away for a moment (as recordOperation is):
   * when a retry finds the fence refusing, it asks whether its own earlier try committed (the
   * operation recorded by this execution attempt) before it reports the workflow lost.
   */
  private guarded(what: () => string, op: OperationRow, fence: Fence, statements: (Statement & { mustChange?: boolean })[]): Promise<unknown[][] | 'committed-before' | null> {
    return withDatabaseRetry(what, async (attempt) => {
      const rows = await this.d.guardedTransaction(statements);
      if (rows !== null || attempt === 1) return rows;
      return (await this.recordedBy(op, fence)) ? 'committed-before' : null;
    });
  }

  async setEvent(op: OperationRow, key: string, value: string, fence: Fence): Promise<boolean> {
    const what = () => `setting event ${key} of workflow ${op.workflowID}`;
    return (await this.guarded(what, op, fence, [...this.fenced(op, fence), { sql: this.tm.upsertEvent, params: [op.workflowID, key, value] }])) !== null;
  }

  async getEvent(workflowID: string, key: string): Promise<string | undefined> {
    const rows = await withDatabaseRetry(() => `reading event ${key} of workflow ${workflowID}`, () => this.d.all<Raw>(this.tm.getEvent, [workflowID, key]));
    return rows[0] ? String(rows[0].value) : undefined;
  }

  async send(m: NewMessage, recorded?: { op: OperationRow; fence: Fence }): Promise<boolean> {
    const insert = { sql: this.tm.insertMessage, params: [m.messageID, m.destinationID, m.topic, m.message, m.now] };
    const what = () => `sending a message to workflow ${m.destinationID}`;
    if (!recorded) return (await withDatabaseRetry(what, () => this.d.run(insert.sql, insert.params)), true); // ON CONFLICT DO NOTHING: a retry delivers once
    return (await this.guarded(what, recorded.op, recorded.fence, [...this.fenced(recorded.op, recorded.fence), insert])) !== null;
  }

  async hasMessage(destinationID: string, topic: string): Promise<boolean> {
    return (await withDatabaseRetry(() => `looking for messages to workflow ${destinationID}`, () => this.d.all(this.tm.hasMessage, [destinationID, topic]))).length > 0;
  }

  async listEvents(workflowID: string): Promise<{ key: string; value: string }[]> {
    const rows = await this.d.all<Raw>(`SELECT key, value FROM ${this.S}workflow_events WHERE workflow_uuid = ? ORDER BY key`, [workflowID]);
    return rows.map((r) => ({ key: String(r.key), value: String(r.value) }));
  }

  async listMessages(destinationID: string): Promise<{ topic: string | null; message: string; createdAt: number; consumed: boolean }[]> {
    const rows = await this.d.all<Raw>(
      `SELECT topic, message, created_at_epoch_ms, consumed FROM ${this.S}notifications WHERE destination_uuid = ? ORDER BY created_at_epoch_ms`, [destinationID]);
    return rows.map((r) => ({ topic: str(r.topic), message: String(r.message), createdAt: Number(r.created_at_epoch_ms), consumed: bool(r.consumed) }));
  }

  async recv(op: OperationRow, topic: string, fence: Fence): Promise<{ message: string | null } | null> {
    const id = op.workflowID;
    const rows = await this.guarded(() => `receiving a message in workflow ${id}`, op, fence, [
      { sql: this.tm.fence, params: [Date.now(), id, fence.executorID, fence.attempt], mustChange: true },
      { sql: this.tm.consume, params: [op.functionID, id, topic] },
      { sql: this.tm.recordRecv, params: [id, op.functionID, op.functionName, id, op.functionID, fence.attempt, op.startedAtEpochMs, op.completedAtEpochMs], mustChange: true },
    ]);
    if (rows === null) return null;
    if (rows === 'committed-before') return { message: (await this.recordedBy(op, fence))?.output ?? null }; // our earlier try consumed it
    const got = rows[1][0] as Raw | undefined;
    return { message: got ? String(got.message) : null };
  }

  async putSchedule(s: ScheduleRow, mode: 'insert' | 'upsert'): Promise<boolean> {
    const params = [s.scheduleID, s.scheduleName, s.workflowName, s.workflowClassName, s.schedule, s.status, s.context,
      s.lastFiredAt, s.automaticBackfill ? 1 : 0, s.cronTimezone, s.queueName, s.applicationName];
    if (mode === 'upsert') return (await this.d.run(this.tm.insertSchedule + this.tm.upsertScheduleTail, params), true);
    return (await this.d.run(this.tm.insertSchedule + ' ON CONFLICT (schedule_name) DO NOTHING', params)) === 1;
  }

  async listSchedules(f: { applicationName?: string; status?: string; scheduleName?: string }): Promise<ScheduleRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [col, v] of [['application_name', f.applicationName], ['status', f.status], ['schedule_name', f.scheduleName]] as const) {
      if (v !== undefined) (where.push(`${col} = ?`), params.push(v));
    }
    const sql = `SELECT * FROM ${this.S}workflow_schedules${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY schedule_name`;
    return (await this.d.all<Raw>(sql, params)).map(toScheduleRow);
  }

  async setScheduleStatus(scheduleName: string, status: 'ACTIVE' | 'PAUSED'): Promise<boolean> {
    return (await this.d.run(`UPDATE ${this.S}workflow_schedules SET status = ? WHERE schedule_name = ?`, [status, scheduleName])) === 1;
  }

  async deleteSchedule(scheduleName: string): Promise<boolean> {
    return (await this.d.run(`DELETE FROM ${this.S}workflow_schedules WHERE schedule_name = ?`, [scheduleName])) === 1;
  }

  async setLastFiredAt(scheduleName: string, slotIso: string): Promise<void> {
    await this.d.run(this.tm.setLastFiredAt, [slotIso, scheduleName, slotIso]);
  }
}
