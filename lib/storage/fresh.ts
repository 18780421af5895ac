// A database nobody else uses: a new SQLite file in a new directory, or a new database on a
// PostgreSQL server. Each torture run and each test gets one. The torture keeps it when the run
// broke an invariant, so that a person can look at it, and removes it otherwise; tests leave it
// to the end of the test run (their temporary directories and the test server go then).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseChoice } from '../config.js';
import { dropDatabases, ensureDatabase } from './embedded-pg.js';

export type FreshKind = 'sqlite' | 'postgres';

export interface FreshDatabase {
  kind: FreshKind;
  /** the environment a child process needs to use it (lib/config.ts) */
  env: Record<string, string>;
  choice: DatabaseChoice;
  /** a directory of its own, that other users may enter (as root, PostgreSQL runs as "postgres"): the SQLite file, a lesson's files */
  dir: string;
  /** where it is, for a report */
  where: string;
  dispose(keep: boolean): Promise<void>;
}

/** A new temporary directory that other users may enter too (as root, PostgreSQL runs as "postgres"). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * `prefix` names the directory, the SQLite file and the PostgreSQL database (torture, t ...);
 * `label` tells runs apart (a seed); `pgAdminUrl` is the server a PostgreSQL database is made on.
 */
export async function freshDatabase(kind: FreshKind, prefix: string, label: string, pgAdminUrl?: string): Promise<FreshDatabase> {
  const dir = tempDir(`${prefix}-${label}-`);
  if (kind === 'sqlite') {
    const file = join(dir, `${prefix}.db`);
    return {
      kind, dir, where: file,
      env: { WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: file, WORKBOOK_DATA_DIR: dir },
      choice: { kind: 'sqlite', file },
      async dispose(keep) {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!pgAdminUrl) throw new Error('freshDatabase(postgres) needs the server URL');
  const name = `${prefix}_${label.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const url = await ensureDatabase(pgAdminUrl, name);
  return {
    kind, dir, where: `database ${name}`,
    env: { WORKBOOK_DB: 'pg', DATABASE_URL: url, WORKBOOK_DATA_DIR: dir },
    choice: { kind: 'postgres', url },
    async dispose(keep) {
      if (keep) return;
      rmSync(dir, { recursive: true, force: true });
      await dropDatabases(pgAdminUrl, [name]);
    },
  };
}
