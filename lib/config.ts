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

/**
 * PostgreSQL's reserved key words (pg_get_keywords() catcode R and T, PostgreSQL 18): an
 * application's schema cannot be named by one unquoted (CREATE SCHEMA check fails), so such an
 * application name is refused here, with the fix, before anything is created.
 */
export const RESERVED_SQL_WORDS = new Set(('all analyse analyze and any array as asc asymmetric authorization binary both case cast check ' +
  'collate collation column concurrently constraint create cross current_catalog current_date current_role current_schema ' +
  'current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign ' +
  'freeze from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit ' +
  'localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references ' +
  'returning right select session_user similar some symmetric system_user table tablesample then to trailing true union ' +
  'unique user using variadic verbose when where window with').split(' '));

export function checkAppName(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    throw new ConfigError(`Application name "${name}" is not usable: use lower-case letters, digits and _ (it names a file and a schema), e.g. "ex1".`);
  }
  if (RESERVED_SQL_WORDS.has(name) || name === 'dbos' || name === 'public' || name === 'information_schema' || name.startsWith('pg_')) {
    const why = RESERVED_SQL_WORDS.has(name) ? 'a reserved word of SQL' : name === 'dbos' ? "the schema of the system tables" : 'a schema PostgreSQL keeps for itself';
    throw new ConfigError(`Application name "${name}" is not usable: it names the application's PostgreSQL schema, and "${name}" is ${why}. ` +
      `Choose another name, e.g. "${name}_app".`);
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
