// What one engine process holds: its database, its executor id, the registered workflows, and the
// executions running here. Everything durable is in the database; this is only the live part.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { WorkflowContext } from './context.js';
import { ConfigError } from './errors.js';
import type { SystemDatabase } from './storage/types.js';
import { pidAlive } from './pid.js';
import type { ExecutorStatus, WorkflowRow } from './storage/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFn = (...args: any[]) => Promise<any>;

export interface WorkflowRegistration {
  name: string;
  fn: AnyFn;
  /** recoveries allowed after the first run (default 100, as DBOS) */
  maxRecoveryAttempts: number;
}

/** How one execution ended, as seen by the process that ran it. */
export type LocalOutcome =
  | { kind: 'success'; value: unknown }
  | { kind: 'error'; error: unknown }
  /** another execution owns the workflow now: read the outcome from the database */
  | { kind: 'elsewhere' }
  /** the system database went away: nothing decided, the workflow stays PENDING and runs again (by getResult or recovery) */
  | { kind: 'stopped' };

/** this machine's name, read once: executors on the same host are judged by their pid */
export const HOST = hostname();

export const state = {
  db: undefined as SystemDatabase | undefined,
  appName: '',
  applicationVersion: '1',
  executorID: `${HOST}-${process.pid}-${randomBytes(3).toString('hex')}`,
  /** an executor whose heartbeat is older than this is dead (ms) */
  leaseMs: 10_000,
  /** how often a running process looks for PENDING workflows whose owner is gone (ms; 0 = only at launch) */
  recoveryIntervalMs: 3000,
  workflows: new Map<string, WorkflowRegistration>(),
  /** executions running in this process, by workflow id */
  running: new Map<string, Promise<LocalOutcome>>(),
  contexts: new Map<string, WorkflowContext>(),
};

export function db(): SystemDatabase {
  if (!state.db) throw new ConfigError('The engine is not launched: call DBOS.setConfig({ name }) and await DBOS.launch() first.');
  return state.db;
}

/**
 * Is the executor that owns this PENDING workflow alive? Ours counts as alive only while the
 * execution runs here. Another one is dead when its process is gone (same host), when it had our
 * own pid on our host (a previous process whose pid we reuse: a container restart), or when its
 * heartbeat is older than the lease (any host). The heartbeat's age is measured on the database's
 * clock, which stamped it: a process whose clock is off can neither stretch nor cut a lease, and a
 * heartbeat from the future (a row written by hand or by another clock) counts for one lease at most.
 */
export async function ownerAlive(row: WorkflowRow, seen?: Map<string, Promise<ExecutorStatus | undefined>>): Promise<boolean> {
  if (!row.executorID) return false;
  if (row.executorID === state.executorID) return state.running.has(row.workflowID);
  // One read per executor per recovery pass (`seen`), however many workflows it owns. The read is
  // its own statement: written as `seen?.set(id, (read = ...))` it was skipped whenever `seen` was
  // undefined (optional chaining skips a call's arguments too), so every caller without a pass's
  // cache (attach, getResult, resumeWorkflow) judged a live owner dead without reading it and took
  // its workflow: two schedulers ran one slot's step (test/66), three recovering processes took
  // workflows from each other until they parked (test/61).
  let read = seen?.get(row.executorID);
  if (!read) {
    read = db().getExecutor(row.executorID);
    seen?.set(row.executorID, read);
  }
  const ex = await read;
  if (!ex) return false; // executor rows are never deleted: no row, no owner
  if (ex.hostname === HOST && (ex.pid === process.pid || !pidAlive(ex.pid))) return false;
  return ex.ageMs < state.leaseMs && ex.ageMs > -state.leaseMs;
}
