// Where the benchmark writes: a new SQLite file in a temporary directory, or a new database on
// PostgreSQL. PostgreSQL is an embedded server started in a temporary directory and stopped at the
// end, unless DATABASE_URL names a server of your own (then a new database is created on it when
// the URL's user may, else its own database is used).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DatabaseChoice } from '../lib/config.js';
import { redactUrl } from '../lib/redact.js';
import { dropDatabases, ensureDatabase, ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';

export type BenchKind = 'sqlite' | 'postgres';
export const BENCH_KINDS: BenchKind[] = ['sqlite', 'postgres'];

/** The application name: the engine's SQLite tables sit beside the raw table; on PostgreSQL it is the raw table's schema. */
export const BENCH_APP = 'bench';

export interface BenchDatabase {
  kind: BenchKind;
  choice: Extract<DatabaseChoice, { kind: 'sqlite' } | { kind: 'postgres' }>;
  appSchema: string;
  /** safe to print */
  description: string;
  /** the environment that points an experiment (ex5) at a database of its own on the same server or directory */
  experimentEnv(name: string): Record<string, string>;
}

export function sqliteTarget(dir: string): BenchDatabase {
  const file = join(dir, 'bench.db');
  return {
    kind: 'sqlite',
    choice: { kind: 'sqlite', file, synchronous: 'NORMAL' },
    appSchema: BENCH_APP,
    description: `SQLite ${file} (WAL, synchronous=NORMAL)`,
    experimentEnv: (name) => ({ WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: join(dir, `${name}.db`), WORKBOOK_DATA_DIR: dir, WORKBOOK_SQLITE_SYNC: 'NORMAL' }),
  };
}

export function postgresTarget(url: string, dir: string): BenchDatabase {
  return {
    kind: 'postgres',
    choice: { kind: 'postgres', url },
    appSchema: BENCH_APP,
    description: `PostgreSQL ${redactUrl(url)} (fsync on, synchronous_commit on)`,
    // ex5 keeps its tables in its own schema (ex5) of the same database.
    experimentEnv: () => ({ WORKBOOK_DB: 'pg', DATABASE_URL: url, WORKBOOK_DATA_DIR: dir }),
  };
}

/** A PostgreSQL server for the whole run: DATABASE_URL's, or an embedded one in `dir`; `stop` ends only what we started. */
export async function postgresServer(dir: string, env = process.env): Promise<{ url: string; stop(): Promise<void> }> {
  const own = env.DATABASE_URL?.trim();
  const name = `bench_${randomBytes(4).toString('hex')}`;
  if (own) {
    // A database of its own when the user may create one, dropped at the end: runs leave nothing behind.
    const url = await ensureDatabase(own, name).catch(() => undefined);
    if (!url) return { url: own, stop: async () => {} };
    return { url, stop: () => dropDatabases(own, [name]) };
  }
  const server = await ensureEmbeddedPostgres(join(dir, 'pg'));
  const url = await ensureDatabase(server.adminUrl, name);
  return { url, stop: () => stopEmbeddedPostgres(server.dir) };
}
