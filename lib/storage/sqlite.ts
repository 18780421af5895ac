// SQLite with better-sqlite3: one file per lesson, system tables and the lesson's tables side by
// side. WAL journal, a busy timeout for other processes on the same file, and synchronous=NORMAL by
// default: every commit survives a process crash (abort, SIGKILL); a power cut or OS crash may lose
// the last commits but never corrupts the file. WORKBOOK_SQLITE_SYNC=FULL survives power cuts too.
import Database from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseConnectionError } from '../errors.js';
import type { Driver, Statement, TxConnection } from './driver.js';
import { SqlSystemDatabase } from './sql.js';

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
  if (!statSync(dir).isDirectory()) return new DatabaseConnectionError(where, `${dir} is not a directory`, fix, err);
  if (/^SQLITE_(FULL|IOERR)/.test(code) && freeBytes(dir) < 64 * 1024)
    return new DatabaseConnectionError(where, `the disk is full (${msg})`,
      `Free some space on the disk that holds ${dir} (or set WORKBOOK_SQLITE_FILE to a file elsewhere), then start again: nothing committed was lost.`, err);
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(msg))
    return new DatabaseConnectionError(where, 'the file is not a SQLite database (nothing was written to it)', `Move it away, or: ${fix}`, err);
  if (/CANTOPEN|READONLY|readonly|unable to open/i.test(code + msg))
    return new DatabaseConnectionError(where, `it cannot be opened for writing (${msg})`, `Check the permissions of ${dir}, or: ${fix}`, err);
  return new DatabaseConnectionError(where, msg, fix, err);
}

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

/** Writes and the commits that carried them, in this process (the group-commit test reads them). */
export const sqliteCommits = { writes: 0, commits: 0 };

/** A write waiting for the next group commit. */
interface QueuedWrite {
  sql: string;
  params: unknown[];
  resolve(changed: number): void;
  reject(err: unknown): void;
}

class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly schemaPrefix = '';
  /** SQLite's own clock (3.42+), in epoch ms */
  readonly nowMsSql = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
  readonly writesInWith = false; // no INSERT inside WITH: two writes in one group commit instead (sql.ts)
  readonly description: string;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: QueuedWrite[] = [];

  constructor(private readonly db: Database.Database, file: string) {
    this.description = `SQLite ${file}`;
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /**
   * Group commit: the writes that workflows send in the same turn of the microtask queue are
   * committed together, in one transaction, and each caller is answered only after that commit.
   * Alone, a write is its own commit as before. Each statement still counts its own changed rows,
   * so a fenced write that is refused is refused alone; a statement that fails fails alone.
   */
  run(sql: string, params: unknown[] = []): Promise<number> {
    if (this.txOpen && !this.inTx.getStore()) return this.txOpen.then(() => this.run(sql, params)); // after the open transaction step
    if (params.length === 0 && sql.includes(';')) {
      this.commitQueued(); // writes sent before it go first
      this.db.exec(sql); // a script of several statements (app DDL)
      return Promise.resolve(0);
    }
    return new Promise((resolve, reject) => {
      if (this.queue.push({ sql, params, resolve, reject }) === 1) queueMicrotask(() => this.commitQueued());
    });
  }

  /** Commits the queued writes: one alone in autocommit, several in one transaction. */
  private commitQueued(): void {
    const writes = this.queue;
    if (writes.length === 0) return; // already committed by a write path that had to go after them
    this.queue = [];
    sqliteCommits.writes += writes.length;
    sqliteCommits.commits++;
    const runEach = () =>
      writes.map((w) => {
        try {
          return { changed: this.prepare(w.sql).run(...w.params).changes };
        } catch (err) {
          // A failed statement rolls back only itself, so the others stay in; but some errors
          // (disk full, I/O, ON CONFLICT ROLLBACK) roll back the whole transaction: then all fail.
          if (writes.length > 1 && !this.db.inTransaction) throw err;
          return { err };
        }
      });
    let outcomes: ({ changed: number } | { err: unknown })[];
    try {
      outcomes = writes.length === 1 ? runEach() : this.db.transaction(runEach).immediate();
    } catch (err) {
      for (const w of writes) w.reject(err); // BEGIN, COMMIT or the transaction failed: nothing of it is in
      return;
    }
    writes.forEach((w, i) => {
      const o = outcomes[i];
      if ('err' in o) w.reject(o.err);
      else w.resolve(o.changed);
    });
  }

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    while (this.txOpen && !this.inTx.getStore()) await this.txOpen; // it would read the open transaction's uncommitted rows
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      this.commitQueued(); // writes sent before it go first
      stmt.run(...params); // an UPDATE or DELETE sent through query(): run it, no rows to return
      return [];
    }
    return stmt.all(...params) as T[];
  }

  async transaction(statements: Statement[]): Promise<void> {
    while (this.txOpen) await this.txOpen;
    this.commitQueued(); // writes sent before it go first
    this.db.transaction(() => {
      for (const s of statements) {
        if (!s.params?.length && s.sql.includes(';')) this.db.exec(s.sql);
        else this.prepare(s.sql).run(...(s.params ?? []));
      }
    }).immediate();
  }

  // --- Transaction steps (lib/transactions/) ---
  // One connection, so a transaction step has it to itself: the group-commit queue is flushed before
  // BEGIN, and every other write or read of this process waits (txOpen) until COMMIT or ROLLBACK,
  // instead of landing inside the step's transaction. What the step's own code sends (an engine read
  // such as DBOS.getWorkflowStatus, in its async context: inTx) joins the transaction instead of
  // waiting for it, which would never end. BEGIN IMMEDIATE takes SQLite's one write lock
  // at once: another process's takeover waits for our COMMIT (busy_timeout), which is the fence's hold.
  private txOpen: Promise<void> | undefined;
  private readonly inTx = new AsyncLocalStorage<true>();
  readonly lockRowsClause = '';

  async interactive<T>(fn: (t: TxConnection) => Promise<T>): Promise<T> {
    while (this.txOpen) await this.txOpen; // one transaction step at a time on this connection
    let end!: () => void;
    this.txOpen = new Promise((r) => (end = r));
    try {
      this.commitQueued();
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await this.inTx.run(true, () => fn({
          run: async (sql, params = []) => {
            if (params.length === 0 && sql.includes(';')) return (this.db.exec(sql), 0);
            return this.prepare(sql).run(...params).changes;
          },
          all: async <R>(sql: string, params: unknown[] = []) => {
            const stmt = this.prepare(sql);
            if (!stmt.reader) return (stmt.run(...params), [] as R[]);
            return stmt.all(...params) as R[];
          },
        }));
        this.db.exec('COMMIT');
        return value;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.txOpen = undefined;
      end();
    }
  }

  isRetriable(err: unknown): boolean {
    return /^SQLITE_BUSY/.test((err as { code?: string })?.code ?? ''); // the write lock was not free within busy_timeout
  }

  async guardedTransaction(statements: (Statement & { mustChange?: boolean })[]): Promise<unknown[][] | null> {
    while (this.txOpen && !this.inTx.getStore()) await this.txOpen; // after the open transaction step
    this.commitQueued(); // writes sent before it go first
    const refused = new Error('guard refused'); // internal control flow: rolls the transaction back
    try {
      return this.db.transaction(() =>
        statements.map((s) => {
          const stmt = this.prepare(s.sql);
          const rows = stmt.reader ? stmt.all(...(s.params ?? [])) : [];
          const changed = stmt.reader ? rows.length : stmt.run(...(s.params ?? [])).changes;
          if (s.mustChange && changed === 0) throw refused;
          return rows;
        }),
      ).immediate();
    } catch (err) {
      if (err === refused) return null;
      throw err;
    }
  }

  // SQLite has one writer: BEGIN IMMEDIATE locks the whole file, so there are no rows to lock one by one.
  readonly rowLockClause = '';
  unindexed(column: string): string {
    return `+${column}`;
  }

  /** One statement in a BEGIN IMMEDIATE transaction: the lock is the file's, whatever `lockKey` says. */
  async lockedAll<T>(_lockKey: string, sql: string, params: unknown[]): Promise<T[]> {
    while (this.txOpen && !this.inTx.getStore()) await this.txOpen; // after the open transaction step
    this.commitQueued(); // writes sent before it go first
    return this.db.transaction(() => this.prepare(sql).all(...params) as T[]).immediate();
  }

  async withMigrationLock(fn: () => Promise<void>): Promise<void> {
    // SQLite has one writer: each migration runs in a BEGIN IMMEDIATE transaction, and a process
    // that loses the race to apply one finds it in the version table and goes on (migrate.ts).
    await fn();
  }

  async close(): Promise<void> {
    this.commitQueued();
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
