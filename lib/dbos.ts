// The public API, shaped and named as DBOS Transact's `DBOS` class so that each lesson carries over:
// setConfig, launch, registerWorkflow, registerStep, runStep, startWorkflow, workflowID, stepStatus,
// listWorkflows, listWorkflowSteps, getWorkflowStatus, cancelWorkflow, resumeWorkflow, shutdown.
import { checkAppName, databaseFromEnv, type DatabaseChoice } from './config.js';
import { currentContext, type StepStatus } from './context.js';
import { claim, runStep, startWorkflow, takeOverIfOrphaned, WorkflowHandle } from './engine.js';
import { ConfigError, WorkflowNotFoundError, WorkflowNotRegisteredError } from './errors.js';
import { log } from './log.js';
import { resolveStepConfig, type StepConfig } from './retry.js';
import { deserialize, deserializeError } from './serialize.js';
import { db, HOST, ownerAlive, state, type AnyFn, type WorkflowRegistration } from './state.js';
import { openDatabase } from './storage/open.js';
import { UNFINISHED, type AppDatabase } from './storage/types.js';
import { toListFilter, toWorkflowStatus, type GetWorkflowsInput, type WorkflowStatus } from './workflow-status.js';

export interface EngineConfig {
  /** the application: the lesson's name (ex1). Names its SQLite file and its PostgreSQL schema. */
  name: string;
  /** where the state goes (default: from the environment, see lib/config.ts) */
  database?: DatabaseChoice;
  /** stored with each workflow (default "1") */
  applicationVersion?: string;
  /** an executor whose heartbeat is older than this is taken for dead, in ms (default 10000) */
  executorLeaseMs?: number;
}

export interface WorkflowConfig {
  /** the name recorded for the workflow (default: the function's name) */
  name?: string;
  /** recoveries allowed after the first run before the dead letter (default 100, as DBOS) */
  maxRecoveryAttempts?: number;
}

/** What launch() found: recovered here, parked as dead letters, left to a live owner, or unknown. */
export interface RecoveryReport {
  recovered: WorkflowHandle<unknown>[];
  parked: string[];
  ownedElsewhere: string[];
  unknown: WorkflowNotRegisteredError[];
}

export interface StepInfo {
  functionID: number;
  name: string;
  output: unknown;
  error: Error | null;
  childWorkflowID: string | null;
  attempts: number;
  startedAtEpochMs: number;
  completedAtEpochMs: number;
}

const registrations = new WeakMap<AnyFn, WorkflowRegistration>();
let config: EngineConfig | undefined;
let releaseDatabase: () => Promise<void> = async () => {};
let heartbeat: NodeJS.Timeout | undefined;
let lastRecovery: RecoveryReport | undefined;

/** True for a function DBOS.registerWorkflow returned (not the plain function it wrapped). */
export function isRegisteredWorkflow(fn: unknown): fn is (...args: unknown[]) => Promise<unknown> {
  return typeof fn === 'function' && registrations.has(fn as AnyFn);
}

function registrationOf(fn: AnyFn): WorkflowRegistration {
  const reg = registrations.get(fn);
  if (!reg) throw new ConfigError(`${fn.name || 'This function'} is not a registered workflow: pass the function DBOS.registerWorkflow returned.`);
  return reg;
}

/** This executor's heartbeat; 0 marks it dead at once (a clean exit). */
async function beat(at = Date.now()): Promise<void> {
  await db().upsertExecutor({ executorID: state.executorID, hostname: HOST, pid: process.pid, heartbeatAt: at });
}

export class DBOS {
  static setConfig(cfg: EngineConfig): void {
    if (state.db) throw new ConfigError('DBOS.setConfig must come before DBOS.launch() (or after DBOS.shutdown()).');
    checkAppName(cfg.name);
    if (cfg.executorLeaseMs !== undefined && !(cfg.executorLeaseMs > 0)) throw new ConfigError(`executorLeaseMs must be a number of ms > 0 (got ${cfg.executorLeaseMs}).`);
    config = cfg;
  }

  /**
   * Opens and migrates the database, registers this executor, and recovers PENDING workflows
   * (promise 6). Returns nothing, as DBOS's; what it recovered is DBOS.lastRecovery() (ours only).
   */
  static async launch(): Promise<void> {
    if (state.db) throw new ConfigError('DBOS.launch() was already called: call DBOS.shutdown() first to launch again.');
    if (!config) throw new ConfigError('Call DBOS.setConfig({ name: "ex1" }) before DBOS.launch().');
    const choice = config.database ?? databaseFromEnv(config.name);
    const opened = await openDatabase(choice, config.name, `workbook-${state.executorID}`);
    state.db = opened.db;
    releaseDatabase = opened.release;
    state.appName = config.name;
    state.applicationVersion = config.applicationVersion ?? '1';
    state.leaseMs = config.executorLeaseMs ?? 10_000;
    log.debug(`engine: ${opened.db.description}, executor ${state.executorID}`);
    await beat();
    heartbeat = setInterval(() => beat().catch((e) => log.warn(`heartbeat failed: ${(e as Error).message}`)), Math.max(50, Math.floor(state.leaseMs / 5)));
    heartbeat.unref();
    lastRecovery = await DBOS.recoverPendingWorkflows();
  }

  /** What the last launch() recovered, parked, left to a live owner, or could not name (not in DBOS). */
  static lastRecovery(): RecoveryReport {
    if (!lastRecovery) throw new ConfigError('DBOS.lastRecovery() reports on DBOS.launch(): call launch() first.');
    return lastRecovery;
  }

  /** Takes every PENDING workflow of this application whose owner is gone, oldest first. */
  static async recoverPendingWorkflows(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: [], parked: [], ownedElsewhere: [], unknown: [] };
    const rows = await db().listWorkflows({ status: UNFINISHED, applicationID: state.appName });
    for (const row of rows) {
      if (state.running.has(row.workflowID)) continue;
      const reg = state.workflows.get(row.name);
      if (!reg) {
        const err = new WorkflowNotRegisteredError(row.workflowID, row.name, [...state.workflows.keys()]);
        log.warn(err.message);
        report.unknown.push(err);
        continue;
      }
      if (await ownerAlive(row)) {
        report.ownedElsewhere.push(row.workflowID);
        continue;
      }
      const got = await claim(reg, row);
      if (got === 'parked') report.parked.push(row.workflowID);
      if (got === 'claimed') report.recovered.push(new WorkflowHandle(row.workflowID));
    }
    return report;
  }

  /** Waits for the executions running here, then closes the database. Safe to call twice. */
  static async shutdown(): Promise<void> {
    if (!state.db) return;
    await Promise.allSettled([...state.running.values()]);
    clearInterval(heartbeat);
    // A clean exit: mark this executor dead at once, so nobody waits for its lease.
    await beat(0).catch(() => undefined);
    await state.db.close();
    state.db = undefined;
    await releaseDatabase();
  }

  static registerWorkflow<A extends unknown[], R>(fn: (...args: A) => Promise<R>, opts: WorkflowConfig = {}): (...args: A) => Promise<R> {
    const name = opts.name ?? fn.name;
    if (!name) throw new ConfigError('A workflow needs a name: pass { name } to DBOS.registerWorkflow or use a named function.');
    const max = opts.maxRecoveryAttempts ?? 100;
    if (!Number.isInteger(max) || max < 0) throw new ConfigError(`Workflow "${name}": maxRecoveryAttempts must be a whole number >= 0 (got ${max}).`);
    if (state.workflows.has(name)) throw new ConfigError(`A workflow named "${name}" is already registered: give this one another name.`);
    const reg: WorkflowRegistration = { name, fn: fn as AnyFn, maxRecoveryAttempts: max };
    state.workflows.set(name, reg);
    const wrapped = async (...args: A): Promise<R> => (await startWorkflow<R>(reg, args)).getResult();
    Object.defineProperty(wrapped, 'name', { value: name });
    registrations.set(wrapped as AnyFn, reg);
    return wrapped;
  }

  static registerStep<A extends unknown[], R>(fn: (...args: A) => Promise<R>, opts: StepConfig & { name?: string } = {}): (...args: A) => Promise<R> {
    const name = opts.name ?? fn.name;
    if (!name) throw new ConfigError('A step needs a name: pass { name } to DBOS.registerStep or use a named function.');
    const cfg = resolveStepConfig(name, opts);
    const wrapped = (...args: A): Promise<R> => runStep<R>(name, cfg, fn as AnyFn, args);
    Object.defineProperty(wrapped, 'name', { value: name });
    return wrapped;
  }

  /** Runs `fn` as a step of the current workflow (a plain call outside one). */
  static runStep<R>(fn: () => Promise<R>, opts: StepConfig & { name: string }): Promise<R> {
    return runStep<R>(opts.name, resolveStepConfig(opts.name, opts), fn, []);
  }

  /** DBOS.startWorkflow(wf, { workflowID })(...args) returns a handle without waiting for the result. */
  static startWorkflow<A extends unknown[], R>(wf: (...args: A) => Promise<R>, opts: { workflowID?: string } = {}) {
    const reg = registrationOf(wf as AnyFn);
    return (...args: A): Promise<WorkflowHandle<R>> => startWorkflow<R>(reg, args, opts.workflowID);
  }

  /** A handle on any workflow by id (its result, its status). */
  static retrieveWorkflow<R = unknown>(workflowID: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowID);
  }

  static get workflowID(): string | undefined {
    return currentContext()?.workflowID;
  }

  static get stepID(): number | undefined {
    return currentContext()?.step?.stepID;
  }

  /** Inside a step: { stepID, currentAttempt (1-based), maxAttempts }; { stepID } alone without retries, as DBOS. */
  static get stepStatus(): StepStatus | undefined {
    return currentContext()?.step;
  }

  /** The lesson's own tables, in the same database as the system tables. */
  static get appDatabase(): AppDatabase {
    return db().app;
  }

  static get executorID(): string {
    return state.executorID;
  }

  /** The version stored with each workflow this process starts (EngineConfig.applicationVersion, default "1"). */
  static get applicationVersion(): string {
    return state.applicationVersion;
  }

  /** The workflow as DBOS shows it (workflowName, executorId, input/output as values), or null. */
  static async getWorkflowStatus(workflowID: string): Promise<WorkflowStatus | null> {
    const row = await db().getWorkflow(workflowID);
    return row ? toWorkflowStatus(row) : null;
  }

  /** This application's workflows (unless applicationName says another), oldest first; times ISO or epoch ms. */
  static async listWorkflows(filter: GetWorkflowsInput = {}): Promise<WorkflowStatus[]> {
    return (await db().listWorkflows(toListFilter(filter, state.appName))).map(toWorkflowStatus);
  }

  static async listWorkflowSteps(workflowID: string): Promise<StepInfo[]> {
    return (await db().loadOperations(workflowID)).map((o) => ({
      functionID: o.functionID, name: o.functionName, output: deserialize(o.output),
      error: o.error === null ? null : deserializeError(o.error), childWorkflowID: o.childWorkflowID,
      attempts: o.attempts, startedAtEpochMs: o.startedAtEpochMs, completedAtEpochMs: o.completedAtEpochMs,
    }));
  }

  /** Stops a workflow at its next step; its finished steps stay recorded. */
  static async cancelWorkflow(workflowID: string): Promise<boolean> {
    const ok = await db().setStatus(workflowID, 'CANCELLED', UNFINISHED, { now: Date.now() });
    const ctx = state.contexts.get(workflowID);
    if (ctx) ctx.cancelled = true;
    return ok;
  }

  /** Runs a cancelled or parked workflow again, on purpose, with its recovery count reset. */
  static async resumeWorkflow<R = unknown>(workflowID: string): Promise<WorkflowHandle<R>> {
    const row = await db().getWorkflow(workflowID);
    if (!row) throw new WorkflowNotFoundError(workflowID);
    const reg = state.workflows.get(row.name);
    if (!reg) throw new WorkflowNotRegisteredError(workflowID, row.name, [...state.workflows.keys()]);
    if (row.status === 'CANCELLED' || row.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') {
      const reset = await db().setStatus(workflowID, 'PENDING', [row.status], { now: Date.now(), resetAttempts: true });
      if (reset) {
        await claim(reg, { ...row, status: 'PENDING', recoveryAttempts: 0, executorID: null });
      } else {
        // Someone else changed it first (resumed it, maybe already runs it): take it only if its owner is gone.
        const now = await db().getWorkflow(workflowID);
        if (now) await takeOverIfOrphaned(reg, now);
      }
    } else {
      await takeOverIfOrphaned(reg, row);
    }
    return new WorkflowHandle<R>(workflowID);
  }
}
