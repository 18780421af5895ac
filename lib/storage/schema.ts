// The system database, in the words of DESIGN.md.
//
// workflow_status   one row per workflow: its name, inputs (JSON), status and outcome (JSON), who
//                   runs it (executor_id) and how many times it was executed (recovery_attempts).
//                   A row goes PENDING -> SUCCESS | ERROR, or PENDING -> CANCELLED, or PENDING ->
//                   MAX_RECOVERY_ATTEMPTS_EXCEEDED (the dead letter); CANCELLED and the dead letter
//                   go back to PENDING only when resumed on purpose. A queued workflow starts ENQUEUED and
//                   becomes PENDING when a worker claims it (migration 4).
// operation_outputs one row per finished step (or child workflow start), keyed by (workflow_uuid,
//                   function_id): its output or its final error (JSON). Written once, when the step
//                   ends; nothing is written when it starts. A replay reads these instead of running.
// executors         one row per engine process: host, pid and a heartbeat, so that recovery can
//                   tell a workflow whose owner is alive from one whose owner died.
// workbook_migrations  which of the versions below have been applied.
//
// Names and columns follow DBOS Transact, so its monitoring SQL reads ours. Times are epoch ms.
// PostgreSQL keeps these tables in schema `dbos`; SQLite keeps them in the lesson's own file.

export interface Migration {
  version: number;
  /** statements; {S} is the schema prefix ('dbos.' on PostgreSQL, '' on SQLite); {WITHOUT_ROWID} a SQLite-only table option */
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE IF NOT EXISTS {S}workflow_status (
        workflow_uuid TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        name TEXT NOT NULL,
        inputs TEXT,
        output TEXT,
        error TEXT,
        executor_id TEXT,
        application_id TEXT,
        application_version TEXT,
        recovery_attempts BIGINT NOT NULL DEFAULT 0,
        parent_workflow_id TEXT,
        queue_name TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS workflow_status_status_idx ON {S}workflow_status (status, application_id)`,
      `CREATE INDEX IF NOT EXISTS workflow_status_created_at_idx ON {S}workflow_status (created_at)`,
      `CREATE TABLE IF NOT EXISTS {S}operation_outputs (
        workflow_uuid TEXT NOT NULL,
        function_id INTEGER NOT NULL,
        function_name TEXT NOT NULL,
        output TEXT,
        error TEXT,
        child_workflow_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 1,
        started_at_epoch_ms BIGINT NOT NULL,
        completed_at_epoch_ms BIGINT NOT NULL,
        PRIMARY KEY (workflow_uuid, function_id)
      ){WITHOUT_ROWID}`,
      `CREATE TABLE IF NOT EXISTS {S}executors (
        executor_id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        heartbeat_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    // Which execution of the workflow recorded each outcome (its recovery_attempts then, the fence
    // of the write): lets `npm run wf -- steps` tell the first run from each recovery. Our addition.
    version: 2,
    statements: [`ALTER TABLE {S}operation_outputs ADD COLUMN execution_attempt INTEGER`],
  },
  {
    // Queues (lib/queues/, DESIGN.md promise 10), with DBOS's columns: an enqueued row waits ENQUEUED
    // (executor_id NULL, recovery_attempts 0) until a worker's claim makes it PENDING, stamping
    // started_at_epoch_ms (what the rate limit counts). Workers take the lowest priority first, then
    // the oldest. A deduplication id is unique on its queue only while its workflow is unfinished:
    // a partial unique index, so the id frees when the workflow ends (DBOS clears the column instead).
    // queue_workers (our addition) says which executor serves which queue with which workflow names,
    // so that `wf queues` can tell work nobody can run from work that waits its turn.
    version: 4,
    statements: [
      `ALTER TABLE {S}workflow_status ADD COLUMN deduplication_id TEXT`,
      `ALTER TABLE {S}workflow_status ADD COLUMN priority INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE {S}workflow_status ADD COLUMN started_at_epoch_ms BIGINT`,
      `CREATE UNIQUE INDEX IF NOT EXISTS workflow_status_queue_dedup_idx ON {S}workflow_status (queue_name, deduplication_id)
         WHERE deduplication_id IS NOT NULL AND status IN ('ENQUEUED', 'PENDING')`,
      `CREATE INDEX IF NOT EXISTS workflow_status_queue_idx ON {S}workflow_status (queue_name, status, priority, created_at)`,
      `CREATE INDEX IF NOT EXISTS workflow_status_queue_started_idx ON {S}workflow_status (queue_name, started_at_epoch_ms)`,
      `CREATE TABLE IF NOT EXISTS {S}queue_workers (
        executor_id TEXT NOT NULL,
        queue_name TEXT NOT NULL,
        workflow_names TEXT NOT NULL,
        PRIMARY KEY (executor_id, queue_name)
      )`,
    ],
  },
];

/**
 * The statements for one dialect. On SQLite a step's outcome is stored WITHOUT ROWID: the row lives
 * in its primary-key tree, so a checkpoint writes one b-tree page instead of two.
 */
export function renderStatements(m: Migration, schemaPrefix: string, dialect: 'sqlite' | 'postgres'): string[] {
  return m.statements.map((s) => s.replaceAll('{S}', schemaPrefix).replaceAll('{WITHOUT_ROWID}', dialect === 'sqlite' ? ' WITHOUT ROWID' : ''));
}
