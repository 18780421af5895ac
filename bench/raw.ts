// The raw limit: single-row INSERT + commit per row, with the engine's own driver and durability
// settings and nothing else (no engine, no JSON checks, no fence). A durable step cannot cost
// less than one of these, so every engine figure is shown as a ratio to this rate.
//   SQLite: better-sqlite3 on the same file, configured by the engine's configureSqlite (WAL,
//           synchronous=NORMAL): a commit appends the changed page to the WAL, no fsync.
//   PostgreSQL: one pg client, one prepared INSERT per row in autocommit mode: the server
//           flushes (fsyncs) its WAL at every commit, as it does for the engine's writes.
import Database from 'better-sqlite3';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { configureSqlite } from '../lib/storage/sqlite.js';
import type { BenchDatabase } from './databases.js';

export interface RawCommits {
  /** commits `n` rows, one transaction each; returns commits per second */
  measure(n: number): Promise<number>;
  close(): Promise<void>;
}

/** A small JSON value, the same shape the benchmark's steps return. */
export const smallValue = (i: number) => ({ i, ok: true });

export async function openRawCommits(target: BenchDatabase): Promise<RawCommits> {
  if (target.choice.kind === 'sqlite') return rawSqlite(target.choice.file);
  if (target.choice.kind === 'postgres') return rawPostgres(target.choice.url, target.appSchema);
  throw new Error('the benchmark opens its own database: no embedded-postgres choice here');
}

function rawSqlite(file: string): RawCommits {
  const db = new Database(file);
  configureSqlite(db);
  db.exec('CREATE TABLE IF NOT EXISTS bench_raw_commits (id INTEGER PRIMARY KEY, value TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO bench_raw_commits (value) VALUES (?)');
  let i = 0;
  return {
    async measure(n) {
      const t0 = performance.now();
      // Autocommit: each run() is its own transaction, committed before it returns.
      for (let k = 0; k < n; k++) insert.run(JSON.stringify(smallValue(i++)));
      return n / ((performance.now() - t0) / 1000);
    },
    async close() {
      db.close();
    },
  };
}

async function rawPostgres(url: string, schema: string): Promise<RawCommits> {
  const client = new pg.Client({ connectionString: url, application_name: 'workbook-bench-raw' });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.bench_raw_commits (id BIGSERIAL PRIMARY KEY, value TEXT NOT NULL)`);
  const insert = { name: 'bench_raw_insert', text: `INSERT INTO ${schema}.bench_raw_commits (value) VALUES ($1)` };
  let i = 0;
  return {
    async measure(n) {
      const t0 = performance.now();
      // Autocommit: each statement is its own transaction; the server answers after its WAL flush.
      for (let k = 0; k < n; k++) await client.query({ ...insert, values: [JSON.stringify(smallValue(i++))] });
      return n / ((performance.now() - t0) / 1000);
    },
    async close() {
      await client.end();
    },
  };
}
