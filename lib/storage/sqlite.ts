// SQLite with better-sqlite3: one file per lesson, system tables and the lesson's tables side by
// side. WAL journal, a busy timeout for other processes on the same file, and synchronous=NORMAL by
// default: every commit survives a process crash (abort, SIGKILL); a power cut or OS crash may lose
// the last commits but never corrupts the file. WORKBOOK_SQLITE_SYNC=FULL survives power cuts too.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseConnectionError } from '../errors.js';
import { SqlSystemDatabase, type Driver, type Statement } from './sql.js';

export interface SqliteOptions {
  file: string;
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
}

function openError(file: string, err: unknown): DatabaseConnectionError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code ?? '';
  const dir = dirname(file);
  const where = `SQLite file ${file}`;
  const fix = 'Set WORKBOOK_SQLITE_FILE to a writable file path, or unset it to use data/<lesson>.db.';
  if (!existsSync(dir)) return new DatabaseConnectionError(where, `the directory ${dir} does not exist`, `Create it (mkdir -p ${dir}), or: ${fix}`, err);
  if (existsSync(dir) && !statSync(dir).isDirectory()) return new DatabaseConnectionError(where, `${dir} is not a directory`, fix, err);
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(msg))
    return new DatabaseConnectionError(where, 'the file is not a SQLite database (nothing was written to it)', `Move it away, or: ${fix}`, err);
  if (/CANTOPEN|READONLY|readonly|unable to open/i.test(code + msg))
    return new DatabaseConnectionError(where, `it cannot be opened for writing (${msg})`, `Check the permissions of ${dir}, or: ${fix}`, err);
  return new DatabaseConnectionError(where, msg, fix, err);
}

class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly schemaPrefix = '';
  readonly description: string;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database, file: string) {
    this.description = `SQLite ${file}`;
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    if (params.length === 0 && !this.statements.has(sql) && sql.includes(';')) {
      this.db.exec(sql); // a script of several statements (app DDL)
      return 0;
    }
    return this.prepare(sql).run(...params).changes;
  }

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      stmt.run(...params); // an UPDATE or DELETE sent through query(): run it, no rows to return
      return [];
    }
    return stmt.all(...params) as T[];
  }

  async transaction(statements: Statement[]): Promise<void> {
    this.db.transaction(() => {
      for (const s of statements) {
        if (!s.params?.length && s.sql.includes(';')) this.db.exec(s.sql);
        else this.prepare(s.sql).run(...(s.params ?? []));
      }
    }).immediate();
  }

  async withMigrationLock(fn: () => Promise<void>): Promise<void> {
    // SQLite has one writer: each migration runs in a BEGIN IMMEDIATE transaction, and
    // CREATE ... IF NOT EXISTS plus the version table make a second process's run a no-op.
    await fn();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The engine's connection settings; exported so that the benchmark's raw commits use exactly these. */
export function configureSqlite(db: Database.Database, opts: Omit<SqliteOptions, 'file'> = {}): void {
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
}

export function openSqlite(opts: SqliteOptions): SqlSystemDatabase {
  let db: Database.Database | undefined;
  try {
    db = new Database(opts.file);
    configureSqlite(db, opts);
  } catch (err) {
    db?.close();
    throw openError(opts.file, err);
  }
  return new SqlSystemDatabase(new SqliteDriver(db, opts.file));
}
