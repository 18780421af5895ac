// What DBOS.launch() and DBOS.shutdown() do to the database and the executor, around the recovery
// and the background loops that lib/dbos.ts starts and stops: open and migrate the database, choose
// the application version (lib/versions/), and keep this executor's heartbeat, by which other
// processes tell that it is alive and leave its workflows alone (promise 6 of docs/DESIGN.md). A
// clean exit beats 0: the executor is dead at once, nobody waits out its lease.
import { databaseFromEnv } from './config.js';
import type { EngineConfig } from './dbos.js';
import { DatabaseConnectionError, WorkbookError } from './errors.js';
import { log } from './log.js';
import { db, HOST, state } from './state.js';
import { openDatabase } from './storage/open.js';
import { isTransientDatabaseError } from './storage/transient.js';
import { versionInfo } from './versions/serve.js';
import { chooseAppVersion } from './versions/version.js';

let releaseDatabase: () => Promise<void> = async () => {};
let heartbeat: NodeJS.Timeout | undefined;

/** This executor's heartbeat, stamped by the database's clock, with the version it serves; 0 marks it dead at once (a clean exit). */
async function beat(at?: 0): Promise<void> {
  await db().upsertExecutor({ executorID: state.executorID, hostname: HOST, pid: process.pid, applicationVersion: state.applicationVersion, heartbeatAt: at });
}

let beating: Promise<void> | undefined;

/** The beat on a timer: one at a time (a beat that waits for a database that is away does not pile up). */
function beatNow(): void {
  beating ??= beat()
    .catch((e) => log.warn(`heartbeat failed: ${(e as Error).message}`))
    .finally(() => (beating = undefined));
}

/** A failure at launch that is the database being away (a full disk, a held lock, a refused connection), named with where and the fix. */
function launchError(where: string, err: unknown): unknown {
  if (err instanceof WorkbookError || !isTransientDatabaseError(err)) return err;
  const msg = (err as Error).message;
  const full = /FULL|disk full|No space/i.test(`${(err as { code?: string }).code} ${msg}`);
  const fix = full
    ? 'Free some space on the disk that holds the database (or point WORKBOOK_SQLITE_FILE / DATABASE_URL elsewhere), then start again: nothing committed was lost.'
    : 'Check that the server is up and that no other process holds a long write lock, then start again.';
  return new DatabaseConnectionError(where, full ? `the disk is full (${msg})` : msg, fix, err);
}

/**
 * Launch's first half: opens and migrates the database, chooses the version, registers this
 * executor and starts its heartbeat. On a failure after the database opened, `shutdown` (DBOS's)
 * closes it again before the error goes up.
 */
export async function openEngine(config: EngineConfig, shutdown: () => Promise<void>): Promise<void> {
  const choice = config.database ?? databaseFromEnv(config.name);
  // Before the database opens: a bad version (configuration) opens nothing that must be closed again.
  const chosen = chooseAppVersion(config.applicationVersion, process.env, state.workflows.values(), config.name);
  const opened = await openDatabase(choice, config.name, `workbook-${state.executorID}`).catch((err) => {
    throw launchError(choice.kind === 'sqlite' ? `SQLite file ${choice.file}` : 'PostgreSQL', err);
  });
  state.db = opened.db;
  releaseDatabase = opened.release;
  state.appName = config.name;
  state.applicationVersion = chosen.version;
  versionInfo.source = chosen.source;
  state.leaseMs = config.executorLeaseMs ?? 10_000;
  state.recoveryIntervalMs = config.recoveryIntervalMs ?? Math.min(3000, Math.max(100, Math.floor(state.leaseMs / 2)));
  log.debug(`engine: ${opened.db.description}, executor ${state.executorID}, application version ${state.applicationVersion}`);
  try {
    await beat();
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw launchError(opened.db.description, err);
  }
  heartbeat = setInterval(beatNow, Math.max(50, Math.floor(state.leaseMs / 5)));
  heartbeat.unref();
}

/** Shutdown's last half, once nothing runs here any more: stops the heartbeat, beats 0, closes the database. */
export async function closeEngine(): Promise<void> {
  clearInterval(heartbeat);
  await beating;
  // A clean exit: mark this executor dead at once, so nobody waits for its lease.
  await beat(0).catch(() => undefined);
  await state.db!.close(); // open: DBOS.shutdown() returns before anything when it is not
  state.db = undefined;
  await releaseDatabase();
}
