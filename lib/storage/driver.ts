// What a dialect supplies to the system database (sql.ts): a Driver runs a statement, a transaction,
// a locked claim, and names its schema prefix and clock. `counted` wraps a driver so every statement
// it sends is counted in queryStats (the benchmark and test/14 count a workflow's queries with it).
import type { IsolationLevel } from './types.js';

export interface Statement {
  sql: string;
  params?: unknown[];
}

/** What a dialect must provide. SQL uses `?` placeholders; the driver adapts them. */
export interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  readonly description: string;
  /** 'dbos.' on PostgreSQL, '' on SQLite */
  readonly schemaPrefix: string;
  /** an SQL expression for the database's own clock in epoch ms (leases are judged on it, never on a process's clock) */
  readonly nowMsSql: string;
  /**
   * PostgreSQL runs an INSERT or UPDATE inside WITH, so a workflow's row and its inputs (or its
   * status and its output) go in one statement. SQLite does not; its group commit puts two writes
   * sent in the same turn into one transaction instead.
   */
  readonly writesInWith: boolean;
  /** runs a statement, returns the number of rows it changed */
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** runs statements in one transaction */
  transaction(statements: Statement[]): Promise<void>;
  /**
   * Runs statements in one transaction and returns each one's rows (a RETURNING, a SELECT). When a
   * statement marked `mustChange` changes no row, rolls everything back and returns null.
   */
  guardedTransaction(statements: (Statement & { mustChange?: boolean })[]): Promise<unknown[][] | null>;
  /** runs `fn` holding a lock that only one migrating process can hold at a time */
  withMigrationLock(fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
  // ---- Queues (queue-sql.ts) ----
  /** ' FOR UPDATE SKIP LOCKED' where rows can be locked one by one; '' on SQLite (one writer) */
  readonly rowLockClause: string;
  /** `column` where no index should serve a condition on it: SQLite's `+column` (it plans without statistics); the column itself on PostgreSQL */
  unindexed(column: string): string;
  /** runs one statement in a transaction holding the lock named `lockKey`, returns its rows */
  lockedAll<T>(lockKey: string, sql: string, params: unknown[]): Promise<T[]>;
  // Transaction steps (lib/transactions/):
  /** runs `fn` on one connection between BEGIN and COMMIT; ROLLBACK when it throws. Nothing else of this process's writes goes in between. */
  interactive<T>(fn: (t: TxConnection) => Promise<T>, isolationLevel?: IsolationLevel): Promise<T>;
  /** the clause that locks the rows a SELECT read until COMMIT: ' FOR SHARE' on PostgreSQL, '' on SQLite (its write lock covers the whole file) */
  readonly lockRowsClause: string;
  isRetriable(err: unknown): boolean;
}

/** The statements of one open transaction (Driver.interactive). */
export interface TxConnection {
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Statements this process sent through any system database (app tables included): the benchmark counts a recovery's queries with it. */
export const queryStats = { statements: 0 };

export function counted(d: Driver): Driver {
  return {
    dialect: d.dialect,
    description: d.description,
    schemaPrefix: d.schemaPrefix,
    nowMsSql: d.nowMsSql,
    writesInWith: d.writesInWith,
    run: (sql, params) => (queryStats.statements++, d.run(sql, params)),
    all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, d.all<T>(sql, params)),
    transaction: (statements) => ((queryStats.statements += statements.length), d.transaction(statements)),
    guardedTransaction: (statements) => ((queryStats.statements += statements.length), d.guardedTransaction(statements)),
    withMigrationLock: (fn) => d.withMigrationLock(fn),
    close: () => d.close(),
    interactive: (fn, isolation) => d.interactive((t) => fn({
      run: (sql, params) => (queryStats.statements++, t.run(sql, params)),
      all: <T>(sql: string, params?: unknown[]) => (queryStats.statements++, t.all<T>(sql, params)),
    }), isolation),
    lockRowsClause: d.lockRowsClause,
    isRetriable: (err) => d.isRetriable(err),
    rowLockClause: d.rowLockClause,
    unindexed: (column) => d.unindexed(column),
    lockedAll: <T>(lockKey: string, sql: string, params: unknown[]) => (queryStats.statements++, d.lockedAll<T>(lockKey, sql, params)),
  };
}
