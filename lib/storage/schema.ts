// The system database, in the words of DESIGN.md.
//
// workflow_status   one row per workflow: its name, status, who runs it (executor_id) and how many
//                   times it was executed (recovery_attempts).
//                   A row goes PENDING -> SUCCESS | ERROR, or PENDING -> CANCELLED, or PENDING ->
//                   MAX_RECOVERY_ATTEMPTS_EXCEEDED (the dead letter); CANCELLED and the dead letter
//                   go back to PENDING only when resumed on purpose. ENQUEUED is reserved for queues.
// workflow_input    its inputs; workflow_output its output or error (as DBOS 5.x, since version 3).
// operation_outputs one row per finished step (or child workflow start, or awaited child result),
//                   keyed by (workflow_uuid, function_id): its output or its final error. Written once, when the step
//                   ends; nothing is written when it starts. A replay reads these instead of running.
// executors         one row per engine process: host, pid and a heartbeat, so that recovery can
//                   tell a workflow whose owner is alive from one whose owner died.
// workbook_migrations  which of the versions below have been applied.
//
// Names and columns follow DBOS Transact, so its monitoring SQL reads ours. Times are epoch ms.
// Values are SuperJSON text in DBOS's format (lib/serialize.ts).
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
];

/**
 * The statements for one dialect. On SQLite a step's outcome is stored WITHOUT ROWID: the row lives
 * in its primary-key tree, so a checkpoint writes one b-tree page instead of two.
 */
export function renderStatements(m: Migration, schemaPrefix: string, dialect: 'sqlite' | 'postgres'): string[] {
  return m.statements.map((s) => s.replaceAll('{S}', schemaPrefix).replaceAll('{WITHOUT_ROWID}', dialect === 'sqlite' ? ' WITHOUT ROWID' : ''));
}
