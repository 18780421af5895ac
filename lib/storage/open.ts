// Opens the system database a DatabaseChoice names, migrated and ready.
import type { DatabaseChoice } from '../config.js';
import { openSqlite } from './sqlite.js';
import type { SystemDatabase } from './types.js';

export interface OpenedDatabase {
  db: SystemDatabase;
  /** called after db.close(): stops an embedded server nobody else uses (WORKBOOK_PG_KEEP=1 keeps it) */
  release(): Promise<void>;
}

export async function openDatabase(choice: DatabaseChoice, appName: string, sessionName: string): Promise<OpenedDatabase> {
  let db: SystemDatabase;
  let release = async () => {};
  if (choice.kind === 'sqlite') {
    db = openSqlite({ file: choice.file, synchronous: choice.synchronous });
  } else if (choice.kind === 'postgres') {
    // PostgreSQL's modules load only when used: pg costs a SQLite run ~100 ms of start-up otherwise.
    const { openPostgres } = await import('./postgres.js');
    db = await openPostgres({ url: choice.url, appSchema: appName, applicationName: sessionName });
  } else {
    const { openPostgres } = await import('./postgres.js');
    const { ensureDatabase, ensureEmbeddedPostgres } = await import('./embedded-pg.js');
    const { onInterrupt, stopUnlessUsed } = await import('./pg-servers.js');
    // Ctrl-C from here on stops the server too (or says it stays up), instead of leaving it running without a word.
    const uninstall = onInterrupt(() => stopUnlessUsed(choice.dir, sessionName, (line) => process.stderr.write(`  ${line}\n`)));
    release = async () => {
      uninstall();
      await stopUnlessUsed(choice.dir, sessionName);
    };
    const server = await ensureEmbeddedPostgres(choice.dir).catch((err) => (uninstall(), Promise.reject(err)));
    const url = await ensureDatabase(server.adminUrl, choice.database);
    db = await openPostgres({ url, appSchema: appName, applicationName: sessionName });
  }
  try {
    await db.migrate();
  } catch (err) {
    await db.close().catch(() => undefined);
    await release().catch(() => undefined); // an embedded server started for this run does not stay up
    throw err;
  }
  return { db, release };
}

/** Opens the database, runs `fn` on it, then closes and releases it, whatever `fn` did. */
export async function withDatabase<T>(choice: DatabaseChoice, appName: string, sessionName: string, fn: (db: SystemDatabase) => Promise<T>): Promise<T> {
  const opened = await openDatabase(choice, appName, sessionName);
  try {
    return await fn(opened.db);
  } finally {
    await opened.db.close();
    await opened.release();
  }
}
