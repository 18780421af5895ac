// PostgreSQL with pg: system tables in schema `dbos` (as DBOS), the lesson's tables in a schema
// named after the lesson (ex1.users), one pool per process.
import pg from 'pg';
import { DatabaseConnectionError, DatabaseUrlError } from '../errors.js';
import { log } from '../log.js';
import { redactUrl, rememberSecret } from '../redact.js';
import type { Driver, Statement, TxConnection } from './driver.js';
import { SqlSystemDatabase } from './sql.js';
import { isTransientDatabaseError } from './transient.js';
import type { IsolationLevel } from './types.js';

/** What a transaction's function returns to end it with ROLLBACK instead of COMMIT. */
const ROLLED_BACK = Symbol('rolled back');

/** Checks the shape of a PostgreSQL URL before any connection is tried. */
export function parsePostgresUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseUrlError(redactUrl(url), 'it is not a URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new DatabaseUrlError(redactUrl(url), `the scheme is "${u.protocol.replace(':', '')}", not postgres`);
  if (!u.hostname) throw new DatabaseUrlError(redactUrl(url), 'it names no host');
  if (u.port && !/^\d+$/.test(u.port)) throw new DatabaseUrlError(redactUrl(url), `the port "${u.port}" is not a number`);
  if (u.pathname.length <= 1) throw new DatabaseUrlError(redactUrl(url), 'it names no database (add /dbname)');
  return u;
}

/** Turns a driver error at connect time into one that names the problem and the fix. */
export function connectError(url: string, err: unknown): DatabaseConnectionError {
  const where = redactUrl(url);
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const u = new URL(url);
  const other = 'Unset DATABASE_URL to use SQLite, or set WORKBOOK_DB=pg without DATABASE_URL for the embedded server.';
  // pg's messages do not carry the password, but a message is masked anyway, to be sure.
  const safe = (e.message ?? String(err)).split(u.password || '\u0000').join('***');
  switch (code) {
    case 'ECONNREFUSED':
      return new DatabaseConnectionError(where, 'the connection was refused (ECONNREFUSED)', `Is the server running on ${u.host}? ${other}`, err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DatabaseConnectionError(where, `the host "${u.hostname}" is unknown (${code})`, `Check the host name in DATABASE_URL. ${other}`, err);
    case '28P01':
    case '28000':
      return new DatabaseConnectionError(where, `the server refused the login of user "${decodeURIComponent(u.username)}" (${code}: ${safe})`, 'Check the user and password in DATABASE_URL.', err);
    case '3D000':
      return new DatabaseConnectionError(where, `the database ${u.pathname.slice(1)} does not exist`, 'Create it (createdb), or name another database in DATABASE_URL.', err);
    default:
      if (/timeout/i.test(safe)) return new DatabaseConnectionError(where, 'the server did not answer within 5 s', `Is ${u.host} reachable? ${other}`, err);
      return new DatabaseConnectionError(where, safe, other, err);
  }
}

/** `?` placeholders become $1, $2 ... (every query in lib/storage/ is written with `?`). */
export function numberedPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly schemaPrefix = 'dbos.';
  /** the server's clock at the moment of the statement, in epoch ms */
  readonly nowMsSql = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
  readonly writesInWith = true; // WITH s AS (INSERT ... RETURNING) INSERT ...: a row and its value table in one statement
  private readonly texts = new Map<string, { name: string; text: string }>();
  /**
   * One connection kept out of the pool for the usual case, one query at a time: pool.query
   * checks a client out and back in with listeners and an idle timer each time, which cost
   * ~70 us of CPU per query once AsyncLocalStorage's hooks are on (measured), a fifth of a commit.
   * While it is busy, queries go through the pool as before.
   */
  private kept?: pg.PoolClient;
  private keptBusy = false;

  constructor(private readonly pool: pg.Pool, readonly description: string) {}

  private async query(config: pg.QueryConfig | string): Promise<pg.QueryResult> {
    if (this.keptBusy) return this.pool.query(config);
    this.keptBusy = true;
    let client: pg.PoolClient | undefined;
    try {
      client = this.kept ??= await this.keep();
      return await client.query(config);
    } catch (err) {
      // A server's answer (a constraint, a syntax error) leaves the connection usable; anything else
      // may not, and neither does a server that is shutting down or killed this backend (57P01 ...).
      if (client && this.kept === client && (!(err instanceof pg.DatabaseError) || isTransientDatabaseError(err))) this.drop(err as Error);
      throw err;
    } finally {
      this.keptBusy = false;
    }
  }

  private async keep(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    // A checked-out client reports a lost connection on itself: without a listener it would crash the process.
    client.on('error', (err) => {
      log.warn(`PostgreSQL connection lost: ${err.message}`);
      if (this.kept === client) this.drop(err);
    });
    return client;
  }

  private drop(err?: Error): void {
    const client = this.kept;
    this.kept = undefined;
    client?.release(err ?? true); // destroyed, not returned: the pool opens a fresh one when needed
  }

  /** `?` placeholders become $1, $2 ...; each distinct statement is prepared once per connection. */
  private q(sql: string) {
    let t = this.texts.get(sql);
    if (!t) {
      t = { name: `wb${this.texts.size}`, text: numberedPlaceholders(sql) };
      this.texts.set(sql, t);
    }
    return t;
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    if (params.length === 0) return (await this.query(sql)).rowCount ?? 0; // scripts: not prepared
    return (await this.query({ ...this.q(sql), values: params })).rowCount ?? 0;
  }

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.query({ ...this.q(sql), values: params })).rows as T[];
  }

  /**
   * A client checked out of the pool for several statements. pg-pool takes its own 'error' listener
   * off a checked-out client, so a connection the server kills meanwhile would crash the process:
   * ours stays on until the client is back, and the failure reaches the statement that used it.
   */
  private async checkOut(): Promise<{ client: pg.PoolClient; done: (err?: Error) => void }> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
      log.warn(`PostgreSQL connection lost during a transaction: ${err.message}`);
    };
    client.on('error', onError);
    return {
      client,
      done: (err) => {
        client.removeListener('error', onError);
        client.release(lost ?? (err && isTransientDatabaseError(err) ? err : undefined)); // a dead connection is destroyed, not reused
      },
    };
  }

  /**
   * BEGIN ... COMMIT on a connection of its own (checked out with its error handler); ROLLBACK when
   * `fn` throws, and a connection that died on the way is dropped, not reused. `fn` may return
   * ROLLED_BACK to end the transaction without its writes.
   */
  private async inTransaction<T>(begin: string, fn: (client: pg.PoolClient) => Promise<T | typeof ROLLED_BACK>): Promise<T | typeof ROLLED_BACK> {
    const { client, done } = await this.checkOut();
    let failed: Error | undefined;
    try {
      await client.query(begin);
      const value = await fn(client);
      await client.query(value === ROLLED_BACK ? 'ROLLBACK' : 'COMMIT');
      return value;
    } catch (err) {
      failed = err as Error;
      await client.query('ROLLBACK').catch(() => undefined); // it fails only when the connection is gone: done() drops it
      throw err;
    } finally {
      done(failed);
    }
  }

  async transaction(statements: Statement[]): Promise<void> {
    await this.inTransaction('BEGIN', async (client) => {
      for (const s of statements) {
        if (s.params?.length) await client.query({ ...this.q(s.sql), values: s.params });
        else await client.query(s.sql);
      }
    });
  }

  // --- Transaction steps (lib/transactions/): a connection of its own from the pool, BEGIN ... COMMIT ---
  readonly lockRowsClause = ' FOR SHARE';

  async interactive<T>(fn: (t: TxConnection) => Promise<T>, isolationLevel?: IsolationLevel): Promise<T> {
    return (await this.inTransaction(isolationLevel ? `BEGIN ISOLATION LEVEL ${isolationLevel}` : 'BEGIN', (client) => fn({
      run: async (sql, params = []) =>
        (await client.query(params.length ? { ...this.q(sql), values: params } : sql)).rowCount ?? 0,
      all: async <R>(sql: string, params: unknown[] = []) =>
        (await client.query({ ...this.q(sql), values: params })).rows as R[],
    }))) as T;
  }

  isRetriable(err: unknown): boolean {
    const code = (err as { code?: string })?.code;
    return code === '40001' || code === '40P01'; // serialization_failure, deadlock_detected
  }

  async guardedTransaction(statements: (Statement & { mustChange?: boolean })[]): Promise<unknown[][] | null> {
    const out = await this.inTransaction('BEGIN', async (client) => {
      const rows: unknown[][] = [];
      for (const s of statements) {
        const r = await client.query({ ...this.q(s.sql), values: s.params ?? [] });
        if (s.mustChange && !r.rowCount) return ROLLED_BACK; // the guard refused: nothing of it is written
        rows.push(r.rows);
      }
      return rows;
    });
    return out === ROLLED_BACK ? null : out;
  }

  readonly rowLockClause = ' FOR UPDATE SKIP LOCKED';
  unindexed(column: string): string {
    return column;
  }

  /**
   * One statement in a transaction that first takes a transaction-level advisory lock on `lockKey`
   * (released by COMMIT or ROLLBACK, also when the connection dies): claimers of one queue go one at a time.
   */
  async lockedAll<T>(lockKey: string, sql: string, params: unknown[]): Promise<T[]> {
    return (await this.inTransaction('BEGIN', async (client) => {
      await client.query({ ...this.q(`SELECT pg_advisory_xact_lock(hashtext(?))`), values: [lockKey] });
      return (await client.query({ ...this.q(sql), values: params })).rows as T[];
    })) as T[];
  }

  async withMigrationLock(fn: () => Promise<void>): Promise<void> {
    const { client, done } = await this.checkOut();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('durable-workbook migrations'))`);
      await client.query('CREATE SCHEMA IF NOT EXISTS dbos');
      await fn();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('durable-workbook migrations'))`).catch(() => undefined);
      done();
    }
  }

  async close(): Promise<void> {
    const client = this.kept;
    this.kept = undefined;
    client?.release(); // back into the pool, which ends it with the others
    await this.pool.end();
  }
}

export interface PostgresOptions {
  url: string;
  /** schema for the lesson's own tables (created if missing) */
  appSchema: string;
  /** shown in pg_stat_activity; lets a process see whether others still use the server */
  applicationName?: string;
}

export async function openPostgres(opts: PostgresOptions): Promise<SqlSystemDatabase> {
  rememberSecret(opts.url); // a driver message that quotes the password is masked too (lib/redact.ts)
  parsePostgresUrl(opts.url);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: 10,
    connectionTimeoutMillis: 5000,
    application_name: opts.applicationName ?? 'durable-workbook',
    options: `-c search_path=${opts.appSchema},public`,
  });
  pool.on('error', (err) => log.warn(`PostgreSQL connection lost (${redactUrl(opts.url)}): ${err.message}`));
  // Every client keeps a listener of its own from birth. pg-pool takes its idle listener off a new
  // client before our checkOut()/keep() can add theirs (after an await): when the server's
  // ReadyForQuery and its FATAL 57P01 (a fast shutdown, pg_terminate_backend) come in one read,
  // the 'error' is emitted in that gap, with no listener, and crashes the process (chaos torture).
  // The failure still reaches the statement that uses the client.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.appSchema}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 23505/42P06: two processes created the schema at once; it exists now, which is all we wanted.
    if (code !== '23505' && code !== '42P06') {
      await pool.end().catch(() => undefined);
      throw connectError(opts.url, err);
    }
  }
  return new SqlSystemDatabase(new PostgresDriver(pool, `PostgreSQL ${redactUrl(opts.url)} (app schema ${opts.appSchema})`));
}
