// A fresh, empty database for every run of the harness (the reference run and each crash point),
// so that the application's tables start the same each time and nothing leaks between runs.
//   sqlite  a new file in a temporary directory
//   pg      a new database on DATABASE_URL's server (its user needs CREATEDB), or on the embedded
//           server in data/pg when DATABASE_URL is unset
// The databases are removed at the end, or kept (and named) when a crash point failed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../config.js';
import { ConfigError, DatabaseConnectionError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { dropDatabases, ensureDatabase, ensureEmbeddedPostgres, otherSessions, stopEmbeddedPostgres } from '../storage/embedded-pg.js';

export type HarnessDb = 'sqlite' | 'pg';

export interface DatabasePlan {
  kind: HarnessDb;
  /** the environment that points a child at the fresh database named `label` */
  fresh(label: string): Promise<Record<string, string | undefined>>;
  /** the database of the run `label`, by name: a SQLite file or a PostgreSQL database */
  locate(label: string): string;
  /** where the kept databases are, in words (passwords masked) */
  where(): string;
  /** removes every database made here (keep: leave them for a look) */
  cleanup(keep: boolean): Promise<void>;
}

export function parseDb(raw: string | undefined): HarnessDb {
  const v = (raw ?? '').toLowerCase();
  if (v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'pg' || v === 'postgres' || v === 'postgresql') return 'pg';
  throw new ConfigError(`"${raw}" is not a database for the crash test: use sqlite (the default) or pg.`);
}

function sqlitePlan(): DatabasePlan {
  const dir = mkdtempSync(join(tmpdir(), 'crash-test-'));
  return {
    kind: 'sqlite',
    // DATABASE_URL is unset for the child: a URL in the user's shell must not win over the file.
    fresh: async (label) => ({ WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: join(dir, `${label}.db`), WORKBOOK_DATA_DIR: dir, DATABASE_URL: undefined }),
    locate: (label) => join(dir, `${label}.db`),
    where: () => `SQLite files in ${dir} (<crash point>.db the engine's, <crash point>-app.db the application's)`,
    cleanup: async (keep) => {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgPlan(env: NodeJS.ProcessEnv): Promise<DatabasePlan> {
  const given = env.DATABASE_URL?.trim();
  const embeddedDir = join(dataDir(env), 'pg');
  const adminUrl = given || (await ensureEmbeddedPostgres(embeddedDir)).adminUrl;
  const prefix = `crashtest_${randomBytes(4).toString('hex')}`;
  const made: string[] = [];
  const session = `workbook-harness-${process.pid}`;
  const dbName = (label: string) => `${prefix}_${label}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
  return {
    kind: 'pg',
    fresh: async (label) => {
      const name = dbName(label);
      let url: string;
      try {
        url = await ensureDatabase(adminUrl, name);
      } catch (err) {
        throw new DatabaseConnectionError(redactUrl(adminUrl), `cannot create the database ${name} (${(err as Error).message})`,
          'The crash test makes a fresh database per crash point: give DATABASE_URL a user allowed to CREATE DATABASE, or unset DATABASE_URL to use the embedded server.', err);
      }
      made.push(name);
      return { WORKBOOK_DB: 'pg', DATABASE_URL: url };
    },
    locate: (label) => `PostgreSQL database ${dbName(label)}`,
    where: () => `PostgreSQL databases ${prefix}_* on ${given ? redactUrl(adminUrl) : `the embedded server in ${embeddedDir} (WORKBOOK_DB=pg)`}`,
    cleanup: async (keep) => {
      if (!keep) await dropDatabases(adminUrl, made);
      // The embedded server stops when nobody else uses it, as after a lesson (WORKBOOK_PG_KEEP=1 keeps it).
      if (!given && env.WORKBOOK_PG_KEEP !== '1' && (await otherSessions(adminUrl, session).catch(() => 1)) === 0) {
        await stopEmbeddedPostgres(embeddedDir);
      }
    },
  };
}

export function databasePlan(kind: HarnessDb, env: NodeJS.ProcessEnv = process.env): Promise<DatabasePlan> {
  return kind === 'sqlite' ? Promise.resolve(sqlitePlan()) : pgPlan(env);
}
