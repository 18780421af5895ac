// Which failures of the system database are the database being away for a while (a connection
// killed, a server restarting, a lock held by another process, a full disk), as opposed to an
// answer about the statement itself (a constraint, a syntax error). The engine retries its own
// statements on the first kind for a bounded time (withDatabaseRetry below); it never decides a
// workflow's outcome. The lesson's own queries are not retried: their errors are the step's.
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseUnavailableError } from '../errors.js';
import { log } from '../log.js';

/** PostgreSQL SQLSTATEs that mean "try again": the connection, the server's state, or a conflict with another transaction. */
const PG_TRANSIENT = /^(08|57P0|53|40001|40P01|55P03|58030)/;
/** Node socket errors on the way to the server. */
const NET_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
/** better-sqlite3 codes: another connection holds the lock, the disk is full, or an I/O error. */
const SQLITE_TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|PROTOCOL)/;
/** pg's own messages when a connection dies or cannot be had (they carry no code). */
const PG_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|Connection ended unexpectedly|terminating connection/i;

/** True when `err` says the database is away for now, not that the statement is wrong. */
export function isTransientDatabaseError(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!err || typeof err !== 'object') return false;
  const code = String((err as { code?: unknown }).code ?? '');
  if (code && (PG_TRANSIENT.test(code) || NET_TRANSIENT.has(code) || SQLITE_TRANSIENT.test(code))) return true;
  return PG_MESSAGES.test(String((err as { message?: unknown }).message ?? ''));
}

/** How long the engine keeps retrying one statement while the database is away (ms); WORKBOOK_DB_RETRY_MS overrides. */
export const databaseRetry = { budgetMs: envBudget() };

function envBudget(): number {
  const v = process.env.WORKBOOK_DB_RETRY_MS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : 30_000;
}

/**
 * Runs `fn`, again and again with backoff (50 ms doubling to 2 s) while it fails with a transient
 * error, for at most the budget; then a DatabaseUnavailableError that names the operation (`what`,
 * built only then) and keeps the last driver error as its cause. `fn` gets the attempt number (1,
 * 2 ...), so a write whose first try may have committed before its connection died can check for
 * its own row. The first try costs one promise more than calling `fn`: this is on every step's path.
 */
export function withDatabaseRetry<T>(what: () => string, fn: (attempt: number) => Promise<T>): Promise<T> {
  const started = Date.now(); // the budget counts the first try too (a busy wait of 5 s is part of it)
  return fn(1).catch((err: unknown) => retryLoop(what, fn, err, started));
}

async function retryLoop<T>(what: () => string, fn: (attempt: number) => Promise<T>, first: unknown, started: number): Promise<T> {
  let err = first;
  for (let attempt = 2, wait = 50; ; attempt++, wait = Math.min(wait * 2, 2000)) {
    if (!isTransientDatabaseError(err)) throw err;
    const spent = Date.now() - started;
    if (spent + wait > databaseRetry.budgetMs) throw new DatabaseUnavailableError(what(), spent, err);
    if (attempt === 2) log.warn(`the system database is unavailable (${(err as Error).message}) at ${what()}; retrying for up to ${Math.round(databaseRetry.budgetMs / 1000)} s`);
    await sleep(wait);
    try {
      return await fn(attempt);
    } catch (e) {
      err = e;
    }
  }
}
