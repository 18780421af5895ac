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
  | 'stepStatus' | 'executorID' | 'getWorkflowStatus' | 'listWorkflows' | 'listWorkflowSteps' | 'cancelWorkflow' | 'resumeWorkflow'>;

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
/** The chosen engine's DBOS class. */
export const DBOS: LessonDBOS = (real as unknown as LessonDBOS | undefined) ?? WorkbookDBOS;

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
  let url: URL;
  if (choice.kind === 'postgres') {
    url = new URL(choice.url);
  } else {
    const { ensureEmbeddedPostgres, otherSessions, stopEmbeddedPostgres } = await import('./storage/embedded-pg.js');
    const server = await ensureEmbeddedPostgres(choice.dir);
    url = new URL(server.adminUrl);
    url.pathname = `/${choice.database}`;
    release = async () => {
      if (process.env.WORKBOOK_PG_KEEP === '1') return;
      if ((await otherSessions(server.adminUrl, `workbook-dbos-${process.pid}`).catch(() => 1)) > 0) return;
      await stopEmbeddedPostgres(server.dir);
    };
  }
  url.pathname = `${url.pathname}_dbos_${name}`;
  real.setConfig({ name, systemDatabaseUrl: url.toString(), logLevel: process.env.WORKBOOK_LOG === 'debug' ? 'info' : 'warn' });
  await real.launch(); // creates the database if it is missing, migrates `dbos`, recovers
  const opened = await openPostgres({ url: url.toString(), appSchema: name, applicationName: `workbook-dbos-${process.pid}` });
  app = { db: opened.app, close: () => opened.close() };
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
