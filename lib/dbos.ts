// The public API, shaped and named as DBOS Transact's `DBOS` class so that each lesson carries over:
// setConfig, launch, registerWorkflow, registerStep, runStep, startWorkflow, workflowID, stepStatus,
// listWorkflows, listWorkflowSteps, getWorkflowStatus, cancelWorkflow, resumeWorkflow, shutdown.
// The database and the executor's heartbeat behind launch and shutdown are lib/launch.ts; the
// claim that resumeWorkflow makes is lib/claim.ts.
import { checkAppName, type DatabaseChoice } from './config.js';
import { currentContext, type StepStatus } from './context.js';
import { resume } from './claim.js';
import { runStep, startWorkflow } from './engine.js';
import { WorkflowHandle } from './handle.js';
import { ConfigError, DamagedRowError, WorkflowNotRegisteredError } from './errors.js';
import { closeEngine, openEngine } from './launch.js';
import { recoverPending, startRecoveryLoop, stopRecoveryLoop } from './recovery.js';
import * as messages from './messages/index.js';
import * as schedules from './schedules/index.js';
import { resolveStepConfig, type StepConfig } from './retry.js';
import { deserialize, deserializeError } from './serialize.js';
import { db, state, type AnyFn, type WorkflowRegistration } from './state.js';
import { checkStartOptions, enqueueRegistered, type StartWorkflowOptions } from './queues/enqueue.js';
import { registerQueue, type QueueParameters, type WorkflowQueue } from './queues/queue.js';
import { startQueueWorkers, stopQueueWorkers } from './queues/worker.js';
import { UNFINISHED, type AppDatabase } from './storage/types.js';
import { currentTransaction, resolveTransactionConfig, runTransactionStep, type TransactionConfig } from './transactions/index.js';
import { toListFilter, toWorkflowStatus, type GetWorkflowsInput, type WorkflowStatus } from './workflow-status.js';
import { logLeftAlone } from './versions/serve.js';
import { checkVersion } from './versions/version.js';

export interface EngineConfig {
  /** the application: the lesson's name (ex1). Names its SQLite file and its PostgreSQL schema. */
  name: string;
  /** where the state goes (default: from the environment, see lib/config.ts) */
  database?: DatabaseChoice;
  /**
   * the version this process serves, stored with each workflow it starts: it recovers and dequeues
   * only workflows of this version (default: DBOS__APPVERSION, else a hash of the registered
   * workflows' code and the engine's version, as DBOS; lib/versions/)
   */
  applicationVersion?: string;
  /** an executor whose heartbeat is older than this is taken for dead, in ms (default 10000) */
  executorLeaseMs?: number;
  /** how often a running process looks for PENDING workflows whose owner is gone, in ms (default min(3000, lease/2); 0: only at launch) */
  recoveryIntervalMs?: number;
}

export interface WorkflowConfig {
  /** the name recorded for the workflow (default: the function's name) */
  name?: string;
  /** recoveries allowed after the first run before the dead letter (default 100, as DBOS) */
  maxRecoveryAttempts?: number;
}

/** What launch() found: recovered here, parked as dead letters, left to a live owner, unknown, or damaged (left alone). */
export interface RecoveryReport {
  recovered: WorkflowHandle<unknown>[];
  parked: string[];
  ownedElsewhere: string[];
  unknown: WorkflowNotRegisteredError[];
  damaged: DamagedRowError[];
  /** unfinished workflows of other application versions: left to a process of their version */
  otherVersions: { workflowID: string; applicationVersion: string }[];
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
let lastRecovery: RecoveryReport | undefined;

/** True for a function DBOS.registerWorkflow returned (not the plain function it wrapped). */
export function isRegisteredWorkflow(fn: unknown): fn is (...args: unknown[]) => Promise<unknown> {
  return typeof fn === 'function' && registrations.has(fn as AnyFn);
}

export function registrationOf(fn: AnyFn): WorkflowRegistration {
  const reg = registrations.get(fn);
  if (!reg) throw new ConfigError(`${fn.name || 'This function'} is not a registered workflow: pass the function DBOS.registerWorkflow returned.`);
  return reg;
}

export class DBOS {
  // Time and messages (lib/messages): durable sleep, events, messages, as DBOS names them.
  static sleep = messages.sleepms;
  static sleepms = messages.sleepms;
  static sleepSeconds = (seconds: number): Promise<void> => messages.sleepms(seconds * 1000);
  static setEvent = messages.setEvent;
  static getEvent = messages.getEvent;
  static send = messages.send;
  static recv = messages.recv;
  // Scheduled workflows (lib/schedules), as DBOS 5.x names them.
  static createSchedule = schedules.createSchedule;
  static applySchedules = schedules.applySchedules;
  static listSchedules = schedules.listSchedules;
  static getSchedule = schedules.getSchedule;
  static pauseSchedule = schedules.pauseSchedule;
  static resumeSchedule = schedules.resumeSchedule;
  static deleteSchedule = schedules.deleteSchedule;
  static backfillSchedule = schedules.backfillSchedule;
  static triggerSchedule = schedules.triggerSchedule;

  static setConfig(cfg: EngineConfig): void {
    if (state.db) throw new ConfigError('DBOS.setConfig must come before DBOS.launch() (or after DBOS.shutdown()).');
    checkAppName(cfg.name);
    if (cfg.executorLeaseMs !== undefined && !(cfg.executorLeaseMs > 0)) throw new ConfigError(`executorLeaseMs must be a number of ms > 0 (got ${cfg.executorLeaseMs}).`);
    if (cfg.applicationVersion !== undefined) checkVersion(cfg.applicationVersion, 'applicationVersion in DBOS.setConfig');
    config = cfg;
  }

  /**
   * Opens and migrates the database, registers this executor, and recovers PENDING workflows
   * (promise 6). Returns nothing, as DBOS's; what it recovered is DBOS.lastRecovery() (ours only).
   */
  static async launch(): Promise<void> {
    if (state.db) throw new ConfigError('DBOS.launch() was already called: call DBOS.shutdown() first to launch again.');
    if (!config) throw new ConfigError('Call DBOS.setConfig({ name: "ex1" }) before DBOS.launch().');
    await openEngine(config, () => DBOS.shutdown());
    lastRecovery = await DBOS.recoverPendingWorkflows();
    logLeftAlone(lastRecovery.recovered.length, lastRecovery.otherVersions);
    startRecoveryLoop();
    schedules.startScheduler();
    await startQueueWorkers();
  }

  /** What the last launch() recovered, parked, left to a live owner, or could not name (not in DBOS). */
  static lastRecovery(): RecoveryReport {
    if (!lastRecovery) throw new ConfigError('DBOS.lastRecovery() reports on DBOS.launch(): call launch() first.');
    return lastRecovery;
  }

  /** Takes every PENDING workflow of this application whose owner is gone, oldest first (the background pass does it too, every few seconds: what it took since the last call is reported here as well). */
  static async recoverPendingWorkflows(): Promise<RecoveryReport> {
    const r = await recoverPending();
    return { ...r, recovered: r.recovered.map((id) => new WorkflowHandle(id)) };
  }

  /** Waits for the executions running here, then closes the database. Safe to call twice. */
  static async shutdown(): Promise<void> {
    if (!state.db) return;
    await stopQueueWorkers();
    await stopRecoveryLoop();
    await schedules.stopScheduler();
    await Promise.allSettled([...state.running.values()]);
    await closeEngine();
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

  /**
   * DBOS.startWorkflow(wf, { workflowID })(...args) returns a handle without waiting for the result;
   * with { queueName, enqueueOptions } the workflow is enqueued instead (lib/queues/).
   */
  static startWorkflow<A extends unknown[], R>(wf: (...args: A) => Promise<R>, opts: StartWorkflowOptions = {}) {
    const reg = registrationOf(wf as AnyFn);
    checkStartOptions(opts);
    if (opts.queueName !== undefined) return (...args: A): Promise<WorkflowHandle<R>> => enqueueRegistered<R>(reg, opts, args);
    return (...args: A): Promise<WorkflowHandle<R>> => startWorkflow<R>(reg, args, opts.workflowID);
  }

  /** A queue for DBOS.startWorkflow(wf, { queueName }), run by every launched process that registers it; before launch(). */
  static registerQueue(name: string, params?: QueueParameters): WorkflowQueue {
    return registerQueue(name, params);
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

  /** The lesson's own tables, in the same database as the system tables; inside a transaction step, its open transaction. */
  static get appDatabase(): AppDatabase {
    return currentTransaction() ?? db().app;
  }

  /** Runs `fn(tx)` as a transaction step (lib/transactions/): its writes through `tx` and its recorded outcome commit together. */
  static runTransaction<R>(fn: (tx: AppDatabase) => Promise<R>, opts: TransactionConfig & { name: string }): Promise<R> {
    return runTransactionStep<R>(resolveTransactionConfig(opts.name, opts), fn, []);
  }

  /** A transaction step called as `wrapped(...args)`; inside it DBOS.appDatabase is the open transaction. */
  static registerTransaction<A extends unknown[], R>(fn: (...args: A) => Promise<R>, opts: TransactionConfig = {}): (...args: A) => Promise<R> {
    const cfg = resolveTransactionConfig(opts.name ?? fn.name, opts);
    const wrapped = (...args: A): Promise<R> => runTransactionStep<R>(cfg, (_tx, ...a) => fn(...(a as A)), args);
    Object.defineProperty(wrapped, 'name', { value: cfg.name });
    return wrapped;
  }

  static get executorID(): string {
    return state.executorID;
  }

  /** The version this process serves and stores with each workflow it starts (lib/versions/: config, DBOS__APPVERSION, or the code's hash). */
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

  /** Cancels a workflow: no further step starts (here or in another process: each step checks first); a step already running finishes but its outcome is not recorded. Its finished steps stay recorded. */
  static async cancelWorkflow(workflowID: string): Promise<boolean> {
    const ok = await db().setStatus(workflowID, 'CANCELLED', UNFINISHED, { now: Date.now() });
    const ctx = state.contexts.get(workflowID);
    if (ctx) ctx.cancelled = true;
    return ok;
  }

  /**
   * Runs a cancelled or parked workflow again, on purpose, with its recovery count reset. With
   * `applicationVersion` (ours; DBOS has it on forkWorkflow and rewindWorkflow) the workflow is first
   * restamped with that version, also while PENDING: that moves a workflow stranded by a deploy to
   * the running version, whose code then replays its recorded steps (README: when that is safe).
   * Without it, a workflow of another version is left to a process of that version.
   */
  static async resumeWorkflow<R = unknown>(workflowID: string, options: { applicationVersion?: string } = {}): Promise<WorkflowHandle<R>> {
    await resume(workflowID, options);
    return new WorkflowHandle<R>(workflowID);
  }
}
