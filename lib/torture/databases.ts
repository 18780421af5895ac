// A database nobody else uses, for each torture run: a new SQLite file in a new directory, or a
// new PostgreSQL database on the torture's server. Kept when the run broke an invariant, so that
// a person can look at it; removed otherwise.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseChoice } from '../config.js';
import { dropDatabases, ensureDatabase } from '../storage/embedded-pg.js';

export type TortureDb = 'sqlite' | 'postgres';

export interface RunDatabase {
  kind: TortureDb;
  /** the environment a child process needs to use it (lib/config.ts) */
  env: Record<string, string>;
  choice: DatabaseChoice;
  /** a directory of the run's own: the counter file, the SQLite file */
  dir: string;
  /** where it is, for a report (password masked by the caller if any) */
  where: string;
  dispose(keep: boolean): Promise<void>;
}

export async function prepareDatabase(kind: TortureDb, label: string, pgAdminUrl?: string): Promise<RunDatabase> {
  const dir = mkdtempSync(join(tmpdir(), `torture-${label}-`));
  if (kind === 'sqlite') {
    const file = join(dir, 'torture.db');
    return {
      kind, dir, where: file,
      env: { WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: file, WORKBOOK_DATA_DIR: dir },
      choice: { kind: 'sqlite', file },
      async dispose(keep) {
        if (!keep) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!pgAdminUrl) throw new Error('prepareDatabase(postgres) needs the server URL');
  const name = `torture_${label.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(3).toString('hex')}`.toLowerCase();
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
