// The queues' SQL (lib/queues/), on both databases: enqueue, the atomic claim, the requeue of a dead
// worker's workflows, and what `wf queues` reads. Kept apart from sql.ts, which delegates here.
//
// How the claim keeps globalConcurrency (docs/DESIGN.md promise 10). One statement counts the queue's
// PENDING rows (all of them, and this executor's), its starts in the rate-limit window, and flips at
// most the free slots of ENQUEUED rows to PENDING, in priority then created_at order. Only rows of
// the worker's application version, or of none (stamped with the worker's on the claim: promise 11). It runs in a
// transaction that first takes the queue's lock: on PostgreSQL a transaction-level advisory lock on
// the queue's name, so two workers claiming at the same instant count one after the other, each
// seeing the other's committed claim (FOR UPDATE SKIP LOCKED alone would let both count the same
// PENDING rows and both fill the last slots); on SQLite BEGIN IMMEDIATE, the file's single writer.
// A PENDING row counts until it ends, so a dead worker's workflows keep their slots until they are
// requeued and claimed again. The rows to take are picked in a MATERIALIZED CTE: as a plain
// `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL may rescan the subquery once per
// outer row (a nested-loop semi join), each rescan skipping the rows the last one locked, and the
// LIMIT no longer bounds the claim (it took all 10 of 10 rows with 4 free slots before this).
import { SERIALIZATION } from '../serialize.js';
import type { Driver } from './driver.js';
import type { ClaimedWorkflow, EnqueueOutcome, NewQueuedWorkflow, QueueClaim, QueueWorkerRow, WorkflowRow } from './types.js';
import type { Raw } from './rows.js';


/** No limit: a slot count no queue reaches. */
const UNLIMITED = 2 ** 31 - 1;

export function queueStatements(S: string, d: Pick<Driver, 'rowLockClause' | 'unindexed'>, select: string) {
  const enqueue = `INSERT INTO ${S}workflow_status (workflow_uuid, status, name, executor_id, application_id,
         application_version, recovery_attempts, parent_workflow_id, serialization, queue_name, deduplication_id, priority, created_at, updated_at)
       VALUES (?, 'ENQUEUED', ?, NULL, ?, ?, 0, NULL, '${SERIALIZATION}', ?, ?, ?, ?, ?)
       ON CONFLICT (workflow_uuid) DO NOTHING`;
  return {
    // The row, and its inputs in workflow_input as a started workflow's (hot-sql.ts insertWorkflow),
    // written only when the row is new: one statement on PostgreSQL, one transaction on SQLite.
    enqueue,
    enqueueWithInputs: `WITH s AS (${enqueue} RETURNING workflow_uuid) INSERT INTO ${S}workflow_input (workflow_uuid, inputs) SELECT workflow_uuid, ? FROM s`,
    holder: `${select} WHERE s.queue_name = ? AND s.deduplication_id = ? AND s.status IN ('ENQUEUED', 'PENDING')`,
    // Two counts, each a range of one index (the running ones, the recently started ones), so a claim
    // reads what runs and what started in the rate limit's period, never the whole queue. (One count
    // of both made SQLite read every row the queue ever had: 3.3 ms a claim after 20,000 finished
    // workflows, 0.15 ms on a new queue.) The UPDATE finds the picked rows by key: through the
    // status index SQLite walked every ENQUEUED row of every queue (2.2 ms a claim with 20,000 queued).
    claim: (names: number) => `WITH running AS (
         SELECT COUNT(CASE WHEN executor_id = ? THEN 1 END) AS mine, COUNT(*) AS running
         FROM ${S}workflow_status WHERE queue_name = ? AND status = 'PENDING'
       ), started AS (
         SELECT COUNT(*) AS started FROM ${S}workflow_status WHERE queue_name = ? AND started_at_epoch_ms > ?
       ), slots AS (
         SELECT ? - mine AS n FROM running UNION ALL SELECT ? - running FROM running UNION ALL SELECT ? - started FROM started
       ), picked AS MATERIALIZED (
         SELECT workflow_uuid FROM ${S}workflow_status
         WHERE queue_name = ? AND status = 'ENQUEUED' AND (application_id = ? OR application_id IS NULL)
           AND (application_version = ? OR application_version IS NULL)
           AND name IN (${Array.from({ length: names }, () => '?').join(', ')})
         ORDER BY priority, created_at, workflow_uuid
         LIMIT (SELECT CASE WHEN MIN(n) < 0 THEN 0 ELSE MIN(n) END FROM slots)${d.rowLockClause}
       )
       UPDATE ${S}workflow_status
       SET status = 'PENDING', executor_id = ?, application_id = COALESCE(application_id, ?), application_version = ?,
           recovery_attempts = recovery_attempts + 1, started_at_epoch_ms = ?, updated_at = ?
       WHERE workflow_uuid IN (SELECT workflow_uuid FROM picked) AND ${d.unindexed('status')} = 'ENQUEUED'
       RETURNING workflow_uuid, name, recovery_attempts,
         COALESCE((SELECT i.inputs FROM ${S}workflow_input i WHERE i.workflow_uuid = workflow_status.workflow_uuid), inputs) AS inputs`,
    insertInputs: `INSERT INTO ${S}workflow_input (workflow_uuid, inputs) VALUES (?, ?) ON CONFLICT (workflow_uuid) DO NOTHING`,
    list: (where: string[]) => `${select} WHERE ${where.join(' AND ')} ORDER BY s.created_at, s.workflow_uuid`,
    requeue: `UPDATE ${S}workflow_status SET status = 'ENQUEUED', executor_id = NULL, started_at_epoch_ms = NULL, updated_at = ?
       WHERE workflow_uuid = ? AND status = 'PENDING' AND queue_name IS NOT NULL
         AND executor_id IS NOT DISTINCT FROM ? AND recovery_attempts = ?`,
  };
}

export async function enqueueWorkflow(d: Driver, q: ReturnType<typeof queueStatements>, w: NewQueuedWorkflow,
  read: (id: string) => Promise<WorkflowRow | undefined>, toRow: (r: Raw) => WorkflowRow): Promise<EnqueueOutcome> {
  let changed: number;
  const status = [w.workflowID, w.name, w.applicationID, w.applicationVersion, w.queueName, w.deduplicationID, w.priority, w.now, w.now];
  try {
    changed = d.writesInWith
      ? await d.run(q.enqueueWithInputs, [...status, w.inputs])
      : await d.interactive(async (t) => {
        const n = await t.run(q.enqueue, status);
        if (n === 1) await t.run(q.insertInputs, [w.workflowID, w.inputs]);
        return n;
      });
  } catch (err) {
    // The only other unique index is the deduplication id's: name its holder, or pass on what it was.
    const holder = w.deduplicationID === null ? [] : await d.all<Raw>(q.holder, [w.queueName, w.deduplicationID]);
    if (holder[0]) return { kind: 'duplicate', row: toRow(holder[0]) };
    throw err;
  }
  const row = await read(w.workflowID);
  if (!row) throw new Error(`workflow ${w.workflowID} vanished between enqueue and read`);
  return { kind: changed === 1 ? 'created' : 'exists', row };
}

export async function claimQueued(d: Driver, q: ReturnType<typeof queueStatements>, c: QueueClaim): Promise<ClaimedWorkflow[]> {
  if (c.workflowNames.length === 0) return [];
  const since = c.rateLimit ? c.now - c.rateLimit.periodSec * 1000 : c.now;
  const params = [
    c.executorID, c.queueName, c.queueName, since,
    c.workerConcurrency ?? UNLIMITED, c.globalConcurrency ?? UNLIMITED, c.rateLimit?.limitPerPeriod ?? UNLIMITED,
    c.queueName, c.applicationID, c.applicationVersion, ...c.workflowNames,
    c.executorID, c.applicationID, c.applicationVersion, c.now, c.now,
  ];
  const rows = await d.lockedAll<Raw>(`queue ${c.queueName}`, q.claim(c.workflowNames.length), params);
  return rows.map((r) => ({ workflowID: String(r.workflow_uuid), name: String(r.name), inputs: r.inputs === null ? null : String(r.inputs), attempt: Number(r.recovery_attempts) }));
}

export async function listQueueRows(d: Driver, q: ReturnType<typeof queueStatements>, queueName: string | undefined, statuses: string[] | undefined, toRow: (r: Raw) => WorkflowRow): Promise<WorkflowRow[]> {
  const where = ['s.queue_name IS NOT NULL'];
  const params: unknown[] = [];
  if (queueName !== undefined) (where.push('s.queue_name = ?'), params.push(queueName));
  if (statuses?.length) (where.push(`s.status IN (${statuses.map(() => '?').join(', ')})`), params.push(...statuses));
  const rows = await d.all<Raw>(q.list(where), params);
  return rows.map(toRow);
}

export async function registerQueueWorker(d: Driver, S: string, w: QueueWorkerRow): Promise<void> {
  await d.run(
    `INSERT INTO ${S}queue_workers (executor_id, queue_name, workflow_names) VALUES (?, ?, ?)
     ON CONFLICT (executor_id, queue_name) DO UPDATE SET workflow_names = excluded.workflow_names`,
    [w.executorID, w.queueName, JSON.stringify(w.workflowNames)],
  );
}

export async function listQueueWorkers(d: Driver, S: string): Promise<QueueWorkerRow[]> {
  const rows = await d.all<Raw>(`SELECT * FROM ${S}queue_workers ORDER BY queue_name, executor_id`);
  return rows.map((r) => ({ executorID: String(r.executor_id), queueName: String(r.queue_name), workflowNames: JSON.parse(String(r.workflow_names)) as string[] }));
}
