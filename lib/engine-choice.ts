// The one seam between the lessons and an engine: the workbook's own (lib/dbos.ts, the default) or
// real DBOS Transact (@dbos-inc/dbos-sdk, a dev dependency), chosen by WORKBOOK_ENGINE=dbos or
// --engine dbos. The lessons and their helpers use only what this file exports, which both engines
// offer: `DBOS` (typed as the members both have), appDatabase() for the lesson's own tables,
// launchEngine()/shutdownEngine() around a run.
//
// On DBOS the system tables go in a database of their own, `<database>_dbos_<lesson>` on the same
// PostgreSQL server (embedded, or DATABASE_URL's), created by DBOS at launch: its `dbos` schema has
// other columns than the workbook's, so the two never share one. The lesson's tables sit in schema
// `<lesson>` of that database, reached through the same AppDatabase (`?` placeholders) as on the
// workbook's engine. DBOS Transact has no SQLite: the switch with SQLite is a ConfigError (exit 2).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setOtherEngineAttempt } from './context.js';
import { DBOS as WorkbookDBOS } from './dbos.js';
import { databaseFromEnv } from './config.js';
import { ConfigError } from './errors.js';
import type { AppDatabase } from './storage/types.js';

export type EngineName = 'workbook' | 'dbos';

/** WORKBOOK_ENGINE=dbos|workbook, or --engine dbos|workbook (the flag wins); default workbook. */
export function engineFromEnv(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2)): EngineName {
  const i = argv.indexOf('--engine');
  const raw = (i >= 0 ? argv[i + 1] : env.WORKBOOK_ENGINE) ?? '';
  if (raw === '' || raw === 'workbook') return 'workbook';
  if (raw === 'dbos') return 'dbos';
  throw new ConfigError(`${i >= 0 ? `--engine ${raw}` : `WORKBOOK_ENGINE=${raw}`} is not an engine: use dbos (DBOS Transact, on PostgreSQL) or workbook (the default).`);
}

/** What the lessons may call on either engine: DBOS Transact's names, which the workbook's engine shares. */
export type LessonDBOS = Pick<typeof WorkbookDBOS,
  | 'registerWorkflow' | 'registerStep' | 'runStep' | 'startWorkflow' | 'retrieveWorkflow' | 'workflowID' | 'stepID'
  | 'stepStatus' | 'executorID' | 'applicationVersion' | 'getWorkflowStatus' | 'listWorkflows' | 'listWorkflowSteps' | 'cancelWorkflow' | 'resumeWorkflow'>;

function chosenEngine(): EngineName {
  try {
    return engineFromEnv();
  } catch (err) {
    process.stderr.write(`BAD INPUT: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

export const ENGINE: EngineName = chosenEngine();
const real = ENGINE === 'dbos' ? (await import('@dbos-inc/dbos-sdk')).DBOS : undefined;

/**
 * On DBOS, each execution of a workflow first reads its recovery_attempts (SQL, not a DBOS call:
 * DBOS would checkpoint that), so that lib/faults.ts draws from (seed, site, execution attempt) as
 * on the workbook's engine: a recovered run draws anew instead of crashing at the same point forever.
 */
const attempt = new AsyncLocalStorage<number>();
function registerCountedWorkflow<A extends unknown[], R>(fn: (...args: A) => Promise<R>, opts: { name?: string; maxRecoveryAttempts?: number } = {}) {
  const counted = async (...args: A): Promise<R> => {
    const [row] = await appDatabase().query<{ n: unknown }>(`SELECT recovery_attempts AS n FROM dbos.workflow_status WHERE workflow_uuid = ?`, [real!.workflowID]);
    return attempt.run(Number(row?.n ?? 0), () => fn(...args));
  };
  return real!.registerWorkflow(counted, { ...opts, name: opts.name ?? fn.name });
}

/** The chosen engine's DBOS class. */
export const DBOS: LessonDBOS = real
  ? (new Proxy(real, {
      get(t, k) {
        if (k === 'registerWorkflow') return registerCountedWorkflow;
        const v: unknown = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v; // DBOS's statics use private fields of the class itself
      },
    }) as unknown as LessonDBOS)
  : WorkbookDBOS;
if (real) setOtherEngineAttempt(() => attempt.getStore() ?? 0);

let app: { db: AppDatabase; close(): Promise<void> } | undefined;
let release: () => Promise<void> = async () => {};

/** Opens the chosen engine for application `name` (the lesson) and recovers what it finds, as DBOS.launch() does. */
export async function launchEngine(name: string): Promise<void> {
  if (!real) {
    WorkbookDBOS.setConfig({ name });
    return WorkbookDBOS.launch();
  }
  const choice = databaseFromEnv(name);
  if (choice.kind === 'sqlite') {
    throw new ConfigError('DBOS Transact has no SQLite: run the lesson on PostgreSQL with --pg (or WORKBOOK_DB=pg), or set DATABASE_URL; or drop --engine dbos / WORKBOOK_ENGINE=dbos to use the workbook\'s engine on SQLite.');
  }
  const { openPostgres } = await import('./storage/postgres.js');
  const { ensureDatabase, ensureEmbeddedPostgres, otherSessions, stopEmbeddedPostgres } = await import('./storage/embedded-pg.js');
  let url: URL;
  let admin: string; // a database that exists, to create the lesson's from
  if (choice.kind === 'postgres') {
    url = new URL(choice.url);
    admin = choice.url;
  } else {
    const server = await ensureEmbeddedPostgres(choice.dir);
    url = new URL(server.adminUrl);
    admin = server.adminUrl; // not .../workbook: on a fresh server only the workbook's engine has made that one
    url.pathname = `/${choice.database}`;
    release = async () => {
      if (process.env.WORKBOOK_PG_KEEP === '1') return;
      if ((await otherSessions(server.adminUrl, `workbook-dbos-${process.pid}`).catch(() => 1)) > 0) return;
      await stopEmbeddedPostgres(server.dir);
    };
  }
  url.pathname = `${url.pathname}_dbos_${name}`;
  // The database first, and the lesson's tables open before launch(): a workflow launch() recovers
  // starts at once and reads its attempt through them.
  await ensureDatabase(admin, url.pathname.slice(1));
  const opened = await openPostgres({ url: url.toString(), appSchema: name, applicationName: `workbook-dbos-${process.pid}` });
  app = { db: opened.app, close: () => opened.close() };
  // The version: a hash of the lesson's file (DBOS's default hashes the registered functions' source,
  // which the attempt wrapper above would hide). An edited lesson does not recover an older run's workflows.
  const applicationVersion = createHash('md5').update(readFileSync(process.argv[1] ?? '')).digest('hex');
  real.setConfig({ name, systemDatabaseUrl: url.toString(), applicationVersion, logLevel: process.env.WORKBOOK_LOG === 'debug' ? 'info' : 'warn' });
  await real.launch(); // migrates `dbos`, recovers
}

export async function shutdownEngine(): Promise<void> {
  if (!real) return WorkbookDBOS.shutdown();
  await real.shutdown();
  await app?.close();
  app = undefined;
  await release();
  release = async () => {};
}

/** The lesson's own tables (users ...), in the same database as the chosen engine's system tables. */
export function appDatabase(): AppDatabase {
  if (!real) return WorkbookDBOS.appDatabase;
  if (!app) throw new ConfigError('The engine is not launched: the lesson runs inside runLesson (lib/lesson.ts).');
  return app.db;
}

/** True for an error with DBOS's numeric code (dbosErrorCode), thrown by either engine. */
export function hasDBOSCode(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { dbosErrorCode?: unknown }).dbosErrorCode === code;
}
