// The system database, in the words of docs/DESIGN.md.
//
// workflow_status   one row per workflow: its name, status, who runs it (executor_id) and how many
//                   times it was executed (recovery_attempts).
//                   A row goes PENDING -> SUCCESS | ERROR, or PENDING -> CANCELLED, or PENDING ->
//                   MAX_RECOVERY_ATTEMPTS_EXCEEDED (the dead letter); CANCELLED and the dead letter
//                   go back to PENDING only when resumed on purpose. A queued workflow starts ENQUEUED and
//                   becomes PENDING when a worker claims it (migration 4).
// workflow_input    its inputs; workflow_output its output or error (as DBOS 5.x, since version 3).
// operation_outputs one row per finished step (or child workflow start, or awaited child result),
//                   keyed by (workflow_uuid, function_id): its output or its final error. Written once, when the step
//                   ends; nothing is written when it starts. A replay reads these instead of running.
// executors         one row per engine process: host, pid and a heartbeat, so that recovery can
//                   tell a workflow whose owner is alive from one whose owner died; and the
//                   application version it serves (migration 7), so that `wf versions` can tell
//                   work that waits for its version's executor from work that has none.
// notifications     one row per message sent to a workflow (DBOS.send): its destination, topic and
//                   message (JSON); `consumed` turns true, with the recv's function id, in the same
//                   transaction that records that recv's outcome, so a message is consumed once.
// workflow_events   one row per (workflow, key) a workflow set with DBOS.setEvent: its latest value.
// workflow_schedules  one row per cron schedule (DBOS.applySchedules): ACTIVE or PAUSED, the last
//                   slot fired; each slot runs as workflow `sched-<name>-<slot ISO time>`.
// workbook_migrations  which of the versions below have been applied.
//
// Names and columns follow DBOS Transact, so its monitoring SQL reads ours. Times are epoch ms.
// Values are SuperJSON text in DBOS's format (lib/serialize.ts).
// PostgreSQL keeps these tables in schema `dbos`; SQLite keeps them in the lesson's own file.

export interface Migration {
  version: number;
  /** statements; {S} is the schema prefix ('dbos.' on PostgreSQL, '' on SQLite); {WITHOUT_ROWID} a SQLite-only table option */
  statements: string[];
  /** statements for one dialect only, after the shared ones */
  only?: { sqlite?: string[]; postgres?: string[] };
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
    // As DBOS 5.x: a workflow's inputs in workflow_input, its output and error in workflow_output
    // (the same-named workflow_status columns stay NULL), and a `serialization` column naming the
    // format of each value ('js_superjson'; NULL for the plain JSON written before this version).
    // Existing values move over, so an older database opens and replays as before.
    version: 3,
    statements: [
      `CREATE TABLE IF NOT EXISTS {S}workflow_input (workflow_uuid TEXT PRIMARY KEY, inputs TEXT){WITHOUT_ROWID}`,
      `CREATE TABLE IF NOT EXISTS {S}workflow_output (workflow_uuid TEXT PRIMARY KEY, output TEXT, error TEXT){WITHOUT_ROWID}`,
      `ALTER TABLE {S}workflow_status ADD COLUMN serialization TEXT`,
      `ALTER TABLE {S}operation_outputs ADD COLUMN serialization TEXT`,
      `INSERT INTO {S}workflow_input (workflow_uuid, inputs) SELECT workflow_uuid, inputs FROM {S}workflow_status WHERE inputs IS NOT NULL`,
      `INSERT INTO {S}workflow_output (workflow_uuid, output, error)
         SELECT workflow_uuid, output, error FROM {S}workflow_status WHERE output IS NOT NULL OR error IS NOT NULL`,
      `UPDATE {S}workflow_status SET inputs = NULL, output = NULL, error = NULL`,
    ],
  },
  {
    // Queues (lib/queues/, docs/DESIGN.md promise 10), with DBOS's columns: an enqueued row waits ENQUEUED
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
  {
    // A workflow row deleted by hand takes its steps' outcomes with it, so a new workflow with the
    // same id never replays the old one's steps (DBOS: a foreign key ON DELETE CASCADE). A trigger,
    // because SQLite cannot add a foreign key to a table, and its foreign keys are off in a plain
    // sqlite3 shell; the trigger fires there too. Outcomes already orphaned are removed once.
    version: 5,
    statements: [
      `DELETE FROM {S}operation_outputs WHERE workflow_uuid NOT IN (SELECT workflow_uuid FROM {S}workflow_status)`,
      `DELETE FROM {S}workflow_input WHERE workflow_uuid NOT IN (SELECT workflow_uuid FROM {S}workflow_status)`,
      `DELETE FROM {S}workflow_output WHERE workflow_uuid NOT IN (SELECT workflow_uuid FROM {S}workflow_status)`,
    ],
    only: {
      sqlite: [
        `CREATE TRIGGER IF NOT EXISTS workflow_status_delete_steps AFTER DELETE ON workflow_status
         BEGIN DELETE FROM operation_outputs WHERE workflow_uuid = OLD.workflow_uuid; DELETE FROM workflow_input WHERE workflow_uuid = OLD.workflow_uuid; DELETE FROM workflow_output WHERE workflow_uuid = OLD.workflow_uuid; END`,
      ],
      postgres: [
        `CREATE OR REPLACE FUNCTION dbos.workflow_status_delete_steps() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN DELETE FROM dbos.operation_outputs WHERE workflow_uuid = OLD.workflow_uuid; DELETE FROM dbos.workflow_input WHERE workflow_uuid = OLD.workflow_uuid; DELETE FROM dbos.workflow_output WHERE workflow_uuid = OLD.workflow_uuid; RETURN OLD; END $$`,
        `CREATE OR REPLACE TRIGGER workflow_status_delete_steps AFTER DELETE ON dbos.workflow_status
         FOR EACH ROW EXECUTE FUNCTION dbos.workflow_status_delete_steps()`,
      ],
    },
  },
  {
    // Time and messages (issue 17): DBOS's tables and columns for messages, events and schedules.
    version: 6,
    statements: [
      `CREATE TABLE IF NOT EXISTS {S}notifications (
        message_uuid TEXT PRIMARY KEY,
        destination_uuid TEXT NOT NULL,
        topic TEXT,
        message TEXT NOT NULL,
        created_at_epoch_ms BIGINT NOT NULL,
        consumed BOOLEAN NOT NULL DEFAULT FALSE,
        consumed_by_function_id INTEGER
      )`,
      `CREATE INDEX IF NOT EXISTS idx_notifications ON {S}notifications (destination_uuid, topic)`,
      `CREATE TABLE IF NOT EXISTS {S}workflow_events (
        workflow_uuid TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (workflow_uuid, key)
      )`,
      `CREATE TABLE IF NOT EXISTS {S}workflow_schedules (
        schedule_id TEXT PRIMARY KEY,
        schedule_name TEXT NOT NULL UNIQUE,
        workflow_name TEXT NOT NULL,
        workflow_class_name TEXT,
        schedule TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'ACTIVE',
        context TEXT NOT NULL,
        last_fired_at TEXT,
        automatic_backfill BOOLEAN NOT NULL DEFAULT FALSE,
        cron_timezone TEXT,
        queue_name TEXT,
        application_name TEXT
      )`,
    ],
  },
  {
    // Application versions (lib/versions/, docs/DESIGN.md promise 11): a process recovers and
    // dequeues only workflows of its own version; the version each executor serves is kept with its
    // heartbeat so that `wf versions` can say which versions have no live executor. Before this, the
    // workbook stamped every workflow "1" and ignored it: those rows become unversioned (NULL), which
    // any version takes, so an older database's unfinished work is not stranded by the upgrade.
    version: 7,
    statements: [
      `ALTER TABLE {S}executors ADD COLUMN application_version TEXT`,
      `UPDATE {S}workflow_status SET application_version = NULL WHERE application_version = '1'`,
    ],
  },
  {
    // The queue indexes hold queued workflows only (issue 20): every other workflow's start and end
    // wrote two entries into each for nothing (4 of a one-step workflow's 13 index entries, 13% of
    // its WAL; 3-4% of its time on PostgreSQL, measured in the README's Performance section). Every
    // queue query names its queue (`queue_name = ?`), which implies the predicate on both databases.
    // On a large table the rebuild reads workflow_status once, and writes to it wait meanwhile (inside
    // the migration's transaction PostgreSQL cannot build CONCURRENTLY).
    version: 8,
    statements: [
      `DROP INDEX IF EXISTS {S}workflow_status_queue_idx`,
      `DROP INDEX IF EXISTS {S}workflow_status_queue_started_idx`,
      `CREATE INDEX IF NOT EXISTS workflow_status_queue_idx ON {S}workflow_status (queue_name, status, priority, created_at)
         WHERE queue_name IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS workflow_status_queue_started_idx ON {S}workflow_status (queue_name, started_at_epoch_ms)
         WHERE queue_name IS NOT NULL`,
    ],
  },
];

/**
 * The statements for one dialect. On SQLite a step's outcome is stored WITHOUT ROWID: the row lives
 * in its primary-key tree, so a checkpoint writes one b-tree page instead of two.
 */
export function renderStatements(m: Migration, schemaPrefix: string, dialect: 'sqlite' | 'postgres'): string[] {
  return [...m.statements, ...(m.only?.[dialect] ?? [])].map((s) => s.replaceAll('{S}', schemaPrefix).replaceAll('{WITHOUT_ROWID}', dialect === 'sqlite' ? ' WITHOUT ROWID' : ''));
}
