// Which database a lesson uses, from flags and the environment:
//   (default)                 SQLite file data/<lesson>.db          (WORKBOOK_SQLITE_FILE overrides)
//   WORKBOOK_DB=pg or --pg    embedded PostgreSQL in data/pg, database "workbook"
//   DATABASE_URL=postgres://  your own PostgreSQL server
// WORKBOOK_DATA_DIR moves data/ elsewhere.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export type DatabaseChoice =
  | { kind: 'sqlite'; file: string; synchronous?: 'NORMAL' | 'FULL' }
  | { kind: 'postgres'; url: string }
  | { kind: 'embedded-postgres'; dir: string; database: string };

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WORKBOOK_DATA_DIR ? resolve(env.WORKBOOK_DATA_DIR) : join(PROJECT_ROOT, 'data');
}

export function checkAppName(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    throw new ConfigError(`Application name "${name}" is not usable: use lower-case letters, digits and _ (it names a file and a schema), e.g. "ex1".`);
  }
  return name;
}

export function databaseFromEnv(name: string, env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2)): DatabaseChoice {
  checkAppName(name);
  let want = (env.WORKBOOK_DB ?? '').toLowerCase();
  if (argv.includes('--pg')) want = 'pg';
  if (argv.includes('--sqlite')) want = 'sqlite';
  if (!['', 'sqlite', 'pg', 'postgres', 'postgresql'].includes(want)) {
    throw new ConfigError(`WORKBOOK_DB=${env.WORKBOOK_DB} is not a database choice: use WORKBOOK_DB=sqlite (the default) or WORKBOOK_DB=pg.`);
  }
  const sync = (env.WORKBOOK_SQLITE_SYNC ?? 'NORMAL').toUpperCase();
  if (sync !== 'NORMAL' && sync !== 'FULL') {
    throw new ConfigError(`WORKBOOK_SQLITE_SYNC=${env.WORKBOOK_SQLITE_SYNC} is not a synchronous setting: use NORMAL (the default) or FULL.`);
  }
  const url = env.DATABASE_URL?.trim();
  if (want !== 'sqlite' && url) return { kind: 'postgres', url };
  if (want === 'pg' || want === 'postgres' || want === 'postgresql') {
    return { kind: 'embedded-postgres', dir: join(dataDir(env), 'pg'), database: 'workbook' };
  }
  if (env.WORKBOOK_SQLITE_FILE) return { kind: 'sqlite', file: resolve(env.WORKBOOK_SQLITE_FILE), synchronous: sync };
  const dir = dataDir(env);
  mkdirSync(dir, { recursive: true });
  return { kind: 'sqlite', file: join(dir, `${name}.db`), synchronous: sync };
}
