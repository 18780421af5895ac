// What the crash-test harness and its child processes say to each other. The parent passes the
// job in environment variables; the child answers with one JSON event per line on file
// descriptor 3, written synchronously, so that every event before a process.abort() arrives.
// The user's workflow keeps stdout and stderr to itself.
import type { AppDatabase } from '../storage/types.js';
import type { AppClient } from './app-database.js';

/** Environment variables the parent sets for a child (lib/harness/child.ts). */
export const ENV = {
  module: 'WORKBOOK_HARNESS_MODULE',
  exportName: 'WORKBOOK_HARNESS_EXPORT',
  args: 'WORKBOOK_HARNESS_ARGS',
  mode: 'WORKBOOK_HARNESS_MODE',
  app: 'WORKBOOK_HARNESS_APP',
  workflowID: 'WORKBOOK_HARNESS_WORKFLOW_ID',
  crashWorkflowID: 'WORKBOOK_HARNESS_CRASH_WORKFLOW',
  crashFunctionID: 'WORKBOOK_HARNESS_CRASH_FUNCTION',
  crashWhen: 'WORKBOOK_HARNESS_CRASH_WHEN',
  check: 'WORKBOOK_HARNESS_CHECK',
  tables: 'WORKBOOK_HARNESS_TABLES',
  setup: 'WORKBOOK_HARNESS_SETUP',
  /** the application database's kind (sqlite or pg) and location, also in the user's own variable */
  appKind: 'WORKBOOK_HARNESS_APP_KIND',
  appUrl: 'WORKBOOK_HARNESS_APP_URL',
} as const;

/**
 * run: start the workflow (crashing at the crash point, if one is set) and report its outcome.
 * recover: report what is recorded, then DBOS.launch() (which recovers it) and report the outcome.
 */
export type ChildMode = 'run' | 'recover';

/**
 * Right after the step's outcome is committed, or right before it is written. For a transaction
 * step (lib/transactions/): right after its COMMIT, or inside its transaction right before COMMIT.
 * 'end': the workflow's function has returned, its end not written yet (nor its last step's
 * outcome, which commits with the end: docs/DESIGN.md promise 15); one such point per workflow.
 */
export type CrashWhen = 'after' | 'before' | 'end';

/** One recorded outcome, as the harness compares them. */
export interface RecordedOp {
  functionID: number;
  name: string;
  childWorkflowID: string | null;
  /** the recorded error's message, when the step failed */
  error: string | null;
}

/** Every workflow in the database with its recorded outcomes (a fresh database holds only ours). */
export type RecordedState = Record<string, { name: string; status: string; ops: RecordedOp[] }>;

export interface Outcome {
  status: string;
  /** JSON text of the result, or null */
  output: string | null;
  /** the error's message when the workflow failed */
  error: string | null;
}

export type ChildEvent =
  /** recover mode: what the dead process left recorded, read before anything runs again */
  | { event: 'recorded-at-death'; state: RecordedState }
  /** a step's function is about to run (hooks.beforeStep); never sent on replay */
  | { event: 'step'; workflowID: string; functionID: number; name: string; attempt: number }
  /** the child is about to die at the crash point */
  | { event: 'crashing'; workflowID: string; functionID: number; name: string; when: CrashWhen; transaction?: boolean }
  | { event: 'outcome'; outcome: Outcome }
  /** the user's check and the table counts, after the workflow finished */
  | { event: 'check'; problems: string[]; tableCounts: Record<string, number> }
  | { event: 'recorded'; state: RecordedState }
  /** bad input: the module, the export, the arguments (the message says the fix) */
  | { event: 'bad-input'; message: string };

/**
 * What the user's check receives after every run (the reference run and each recovery). It throws,
 * or returns a message (or several), when the application's own state is wrong.
 */
export interface CheckContext {
  /** the application's tables, in the same database as the engine's (DBOS.appDatabase) */
  db: AppDatabase;
  /** the application's own database, the one its variable (DATABASE_URL) names in this run */
  app: AppClient;
  workflowID: string;
  /** the arguments the workflow was started with */
  args: unknown[];
  /** the workflow's result (undefined when it failed) */
  result: unknown;
  /** the workflow's final status: SUCCESS or ERROR */
  status: string;
}

/** What the module's `setup` export receives before the workflow's first run, on a fresh database. */
export interface SetupContext {
  /** the application's own database (empty): create its tables here, or with your own client */
  app: AppClient;
}

export type Setup = (ctx: SetupContext) => void | Promise<void>;

export type Check = (ctx: CheckContext) => void | string | string[] | Promise<void | string | string[]>;

/** The key of a crash point or a step: workflow id and function id. */
export const opKey = (workflowID: string, functionID: number): string => `${workflowID}#${functionID}`;
