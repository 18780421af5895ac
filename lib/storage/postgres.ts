// PostgreSQL with pg: system tables in schema `dbos` (as DBOS), the lesson's tables in a schema
// named after the lesson (ex1.users), one pool per process.
import pg from 'pg';
import { DatabaseConnectionError, DatabaseUrlError } from '../errors.js';
import { log } from '../log.js';
import { redactUrl } from '../redact.js';
import { SqlSystemDatabase, type Driver, type Statement } from './sql.js';

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

/** `?` placeholders become $1, $2 ... (every query in sql.ts is written with `?`). */
export function numberedPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly schemaPrefix = 'dbos.';
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
      // A server's answer (a constraint, a syntax error) leaves the connection usable; anything else may not.
      if (client && this.kept === client && !(err instanceof pg.DatabaseError)) this.drop(err as Error);
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

  async transaction(statements: Statement[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const s of statements) {
        if (s.params?.length) await client.query({ ...this.q(s.sql), values: s.params });
        else await client.query(s.sql);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async withMigrationLock(fn: () => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('durable-workbook migrations'))`);
      await client.query('CREATE SCHEMA IF NOT EXISTS dbos');
      await fn();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('durable-workbook migrations'))`).catch(() => undefined);
      client.release();
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
  parsePostgresUrl(opts.url);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: 10,
    connectionTimeoutMillis: 5000,
    application_name: opts.applicationName ?? 'durable-workbook',
    options: `-c search_path=${opts.appSchema},public`,
  });
  pool.on('error', (err) => log.warn(`PostgreSQL connection lost (${redactUrl(opts.url)}): ${err.message}`));
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
