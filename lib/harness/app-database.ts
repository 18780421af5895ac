// The application's own database in a crash run: the user's steps write their own tables through
// their own client (pg, better-sqlite3, a query builder), reading the database from an environment
// variable their code already reads (DATABASE_URL unless they name another). Every run of the
// harness gets a fresh one next to the engine's:
//   sqlite  a file of its own beside the engine's file (<crash point>-app.db): the variable holds its path
//   pg      the run's fresh database itself (the user's tables in its public schema, the engine's
//           in the schemas "dbos" and the app's): the variable holds its URL
// In the child, the module's `setup` export creates the tables before the workflow's first run,
// and the check gets an AppClient on the same database.
import Database from 'better-sqlite3';
import pg from 'pg';
import { ConfigError } from '../errors.js';
import type { HarnessDb } from './databases.js';

export const DEFAULT_APP_ENV = 'DATABASE_URL';

/** A small client on the application's database, for setup and check: SQL in its own dialect ($1 on PostgreSQL, ? on SQLite). */
export interface AppClient {
  kind: HarnessDb;
  /** the value the application's variable holds: a file path (SQLite) or a postgres:// URL */
  url: string;
  /** runs one statement; returns its rows (none for a statement without rows) */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function checkEnvName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(`"${name}" is not an environment variable name (letters, digits and _): name the variable your code reads its database from, e.g. --app-env DATABASE_URL.`);
  }
  return name;
}

/** The application database's location for the run whose engine database `engineEnv` describes. */
export function appLocation(kind: HarnessDb, engineEnv: Record<string, string | undefined>): string {
  if (kind === 'pg') return engineEnv.DATABASE_URL!;
  return engineEnv.WORKBOOK_SQLITE_FILE!.replace(/\.db$/, '-app.db');
}

export async function openAppClient(kind: HarnessDb, url: string): Promise<AppClient> {
  if (kind === 'sqlite') {
    const db = new Database(url);
    db.pragma('busy_timeout = 5000');
    return {
      kind, url,
      query: async <T>(sql: string, params: unknown[] = []) => {
        const stmt = db.prepare(sql);
        if (stmt.reader) return stmt.all(...params) as T[];
        stmt.run(...params);
        return [];
      },
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url, application_name: `workbook-harness-app-${process.pid}` });
  await client.connect();
  return {
    kind, url,
    query: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
    close: () => client.end(),
  };
}
