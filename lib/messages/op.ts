// What sleep, events and messages share: the workflow they run in, the function id each takes, and
// the recorded outcome a replay returns instead of doing it again (promise 2, promise 12).
import { setTimeout as sleep } from 'node:timers/promises';
import { currentContext, type WorkflowContext } from '../context.js';
import { fenceError, fenceOf, hooks, lostDatabase, record, takeRecorded } from '../engine.js';
import { ConfigError, WorkflowCancelledError } from '../errors.js';
import { flushPending } from '../pending.js';
import { deserialize, serialize } from '../serialize.js';
import { db } from '../state.js';
import type { OperationRow } from '../storage/types.js';

/** DBOS's names for these operations in operation_outputs.function_name. */
export const OP = { sleep: 'DBOS.sleep', setEvent: 'DBOS.setEvent', getEvent: 'DBOS.getEvent', send: 'DBOS.send', recv: 'DBOS.recv' } as const;

/** How often a waiting recv or getEvent looks at the database, in ms (DBOS's `pollingIntervalMs` option). */
export const DEFAULT_POLLING_MS = 200;
/** DBOS's default timeout of recv and getEvent, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** The workflow we are in, or undefined outside one or inside a step (then nothing is recorded). */
export function workflowContext(): WorkflowContext | undefined {
  const ctx = currentContext();
  if (!ctx || ctx.step) return undefined;
  if (ctx.cancelled) throw new WorkflowCancelledError(ctx.workflowID);
  return ctx;
}

/** An operation_outputs row for this workflow and function id. */
export function opRow(ctx: WorkflowContext, functionID: number, functionName: string, output: string | null, startedAt: number, error: string | null = null): OperationRow {
  return {
    workflowID: ctx.workflowID, functionID, functionName, output, error, childWorkflowID: null, attempts: 1,
    startedAtEpochMs: startedAt, completedAtEpochMs: Date.now(),
  };
}

/**
 * Runs a guarded write of this execution (setEvent, send, recv) between the harness's record hooks;
 * `ok` false means the fence refused it: this execution lost the workflow and goes no further.
 */
export async function fencedWrite<T>(ctx: WorkflowContext, functionID: number, name: string, write: () => Promise<T | null | false>): Promise<T> {
  await flushPending(ctx); // a step's outcome pending before it is durable before anything leaves the workflow
  hooks.beforeRecord?.(ctx.workflowID, functionID, name);
  let out: T | null | false;
  try {
    out = await write();
  } catch (err) {
    throw lostDatabase(ctx, err); // the database stayed away: this execution stops, no outcome (promise 14)
  }
  if (out === null || out === false) {
    ctx.fenced = true;
    throw await fenceError(ctx);
  }
  hooks.afterRecord?.(ctx.workflowID, functionID, name);
  return out;
}

export { fenceOf };

/** JSON text of a message or event value (undefined is stored as null, the value a timeout returns). */
export function toText(value: unknown, what: string): string {
  return serialize(value, what) ?? (serialize(null, what) as string);
}

export function fromText<T>(text: string | null | undefined): T | null {
  return text === null || text === undefined ? null : (deserialize<T>(text) ?? null);
}

/**
 * The wake-up time at `functionID`: the recorded one on a replay, else now + ms, recorded (as a
 * DBOS.sleep operation) before anyone waits on it. Outside a workflow: now + ms, not recorded.
 */
export async function durableDeadline(ctx: WorkflowContext | undefined, functionID: number, ms: number): Promise<number> {
  if (!ctx) return Date.now() + ms;
  const rec = takeRecorded(ctx, functionID, OP.sleep);
  if (rec) return deserialize<number>(rec.output);
  const now = Date.now();
  const wake = now + ms;
  await record(ctx, opRow(ctx, functionID, OP.sleep, serialize(wake, 'the wake-up time of DBOS.sleep'), now));
  return wake;
}

/** Waits until `until` (epoch ms) in slices, so that a cancel in this process stops the wait within a second. */
export async function waitUntil(ctx: WorkflowContext | undefined, until: number): Promise<void> {
  for (let left = until - Date.now(); left > 0; left = until - Date.now()) {
    await sleep(Math.min(left, 1000));
    if (ctx?.cancelled) throw new WorkflowCancelledError(ctx.workflowID);
  }
}

/** recv's and getEvent's options: DBOS takes a number (timeout in seconds) or an object. */
export interface WaitOptions {
  /** give up after this many seconds and return null (default 60, as DBOS) */
  timeoutSeconds?: number;
  /** ms between two looks at the database (default 200) */
  pollingIntervalMs?: number;
}

export function waitOptions(what: string, options: number | WaitOptions | undefined): { timeoutMs: number; pollMs: number } {
  const o = typeof options === 'number' ? { timeoutSeconds: options } : (options ?? {});
  const t = o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const p = o.pollingIntervalMs ?? DEFAULT_POLLING_MS;
  if (!Number.isFinite(t) || t < 0) throw new ConfigError(`${what}: timeoutSeconds must be a number of seconds >= 0 (got ${t}).`);
  if (!Number.isFinite(p) || p <= 0) throw new ConfigError(`${what}: pollingIntervalMs must be a number of ms > 0 (got ${p}).`);
  return { timeoutMs: t * 1000, pollMs: p };
}

/**
 * Looks with `probe` every pollMs until it says yes or `deadline` passes. Inside a workflow it also
 * checks, once a second, that this execution still owns the workflow: one that was taken over or
 * cancelled elsewhere stops waiting at once (promise 14), instead of at its timeout.
 */
export async function pollUntil(ctx: WorkflowContext | undefined, deadline: number, pollMs: number, probe: () => Promise<boolean>): Promise<boolean> {
  for (let checked = Date.now(); ; ) {
    if (await probe()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(pollMs, left));
    if (ctx?.cancelled) throw new WorkflowCancelledError(ctx.workflowID);
    if (ctx && Date.now() - checked >= 1000) {
      checked = Date.now();
      const row = await db().getWorkflow(ctx.workflowID);
      if (row?.status !== 'PENDING' || row.executorID !== ctx.executorID || row.recoveryAttempts !== ctx.attempt) {
        ctx.fenced = true;
        throw await fenceError(ctx);
      }
    }
  }
}
