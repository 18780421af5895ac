// The `users` table of the lessons, on SQLite and PostgreSQL. Each row says which workflow wrote it
// (workflow_id), for which execution (analyzed_at, taken afresh when the workflow code runs) and when
// (created_at, sub-second, taken by the database as the row is written).
//
// key 'run' (ex1..ex4): UNIQUE (id, workflow_id, analyzed_at): writing a page twice in one execution
//   is refused, which is how ex2 shows its trap.
// key 'row' (ex6): PRIMARY KEY (id, workflow_id, analyzed_at, created_at): repeats are stored, and
//   the count has to see through them.
import type { User } from './user.js';
import type { AppDatabase } from './storage/types.js';

export type UsersKey = 'run' | 'row';

export class UsersTable {
  constructor(
    private readonly db: AppDatabase,
    readonly key: UsersKey = 'run',
    readonly table = 'users',
  ) {}

  async create(): Promise<void> {
    const createdAt = this.db.dialect === 'sqlite'
      ? `TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))`
      : 'TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()'; // not now(): it repeats inside a transaction
    const key = this.key === 'run' ? 'id, workflow_id, analyzed_at' : 'id, workflow_id, analyzed_at, created_at';
    await this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (
      id TEXT NOT NULL,
      external_id TEXT NOT NULL,
      name TEXT NOT NULL,
      workflow_id TEXT NOT NULL,
      analyzed_at TEXT NOT NULL,
      created_at ${createdAt},
      PRIMARY KEY (${key})
    )`);
  }

  async truncate(): Promise<void> {
    await this.db.exec(`DELETE FROM ${this.table}`);
  }

  /** One page, one statement: all of its rows or none. */
  async insertPage(users: User[], workflowID: string, analyzedAt: string): Promise<void> {
    if (users.length === 0) return;
    const values = users.map(() => '(?, ?, ?, ?, ?)').join(', ');
    const params = users.flatMap((u) => [u.id, u.externalId, u.name, workflowID, analyzedAt]);
    // One statement is all-or-nothing by itself: no BEGIN/COMMIT round trips around it.
    await this.db.query(`INSERT INTO ${this.table} (id, external_id, name, workflow_id, analyzed_at) VALUES ${values}`, params);
  }

  /** Rows stored (all workflows, or one). */
  async count(workflowID?: string): Promise<number> {
    const rows = workflowID === undefined
      ? await this.db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${this.table}`)
      : await this.db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${this.table} WHERE workflow_id = ?`, [workflowID]);
    return Number(rows[0].n);
  }

  /** Unique users of a workflow: the latest row of each (id, workflow_id), whatever repeats were stored. */
  async countUnique(workflowID: string): Promise<number> {
    const rows = await this.db.query<{ n: unknown }>(
      `WITH ranked AS (
         SELECT id, workflow_id, created_at,
                ROW_NUMBER() OVER (PARTITION BY id, workflow_id ORDER BY created_at DESC) AS rn
         FROM ${this.table} WHERE workflow_id = ?
       )
       SELECT COUNT(*) AS n FROM ranked WHERE rn = 1`,
      [workflowID],
    );
    return Number(rows[0].n);
  }
}
