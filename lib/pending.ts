// When a step's outcome is written (docs/DESIGN.md, "When an outcome is durable"). The code between
// steps has no side effects (it runs again on every recovery anyway), so a step's outcome only has
// to be durable before the next thing that could depend on it outside this execution: the next
// step's body, anything that leaves the workflow (a child started, a message sent or received, an
// event set, a sleep's wake-up time, a transaction step), and the workflow's end, which makes its
// result visible. Until then it is kept here, unwritten; the end writes the last one in its own
// commit. A crash before the write re-runs the step (at-least-once, promise 3), as a crash just
// before its checkpoint always did. A one-step workflow is two commits (start, end); N steps N + 1.
import { contextStore, type WorkflowContext } from './context.js';
import { fenceOf, hooks, lostDatabase, recordNow } from './engine.js';
import { db } from './state.js';
import type { OperationRow, WorkflowStatusValue } from './storage/types.js';

/** Keeps a step's outcome until the next point that needs it durable. */
export function keepPending(ctx: WorkflowContext, op: OperationRow): void {
  (ctx.pending ??= []).push(op);
}

/**
 * Writes what is pending, each outcome a fenced write as a step's always was (a refusal or a lost
 * database is reported by recordNow, as before). True when something was written: the fence held
 * a moment ago, the caller need not read it again. Two callers at once (steps run in parallel) both
 * wait for the one write: neither goes on before it is durable.
 */
export async function flushPending(ctx: WorkflowContext): Promise<boolean> {
  let wrote = false;
  while (ctx.flushing || ctx.pending?.length) {
    if (!ctx.flushing) {
      const ops = ctx.pending!.splice(0);
      ctx.flushing = writeAll(ctx, ops).finally(() => (ctx.flushing = undefined));
    }
    await ctx.flushing;
    wrote = true;
  }
  return wrote;
}

async function writeAll(ctx: WorkflowContext, ops: OperationRow[]): Promise<void> {
  for (const op of ops) await recordNow(ctx, op);
}

/**
 * The workflow's end (its status, output or error), with the last pending step's outcome in the
 * same commit; any earlier pending outcome (steps that ran in parallel) is written first. False
 * when the fence refused: another execution owns the workflow, as a refused step's write says.
 */
export async function finishWithPending(ctx: WorkflowContext, status: WorkflowStatusValue, output: string | null, error: string | null): Promise<boolean> {
  // The hooks run in the workflow's context, as a step's do: a seeded fault there is salted by this
  // execution's attempt (lib/faults.ts), else every recovery would draw the same and die the same.
  const hook = (fn: () => void) => contextStore.run(ctx, fn);
  hook(() => hooks.beforeEnd?.(ctx.workflowID));
  const last = ctx.pending?.pop();
  try {
    await flushPending(ctx);
  } catch (err) {
    if (ctx.fenced) return false;
    throw err;
  }
  if (last) hook(() => hooks.beforeRecord?.(ctx.workflowID, last.functionID, last.functionName));
  let ok: boolean;
  try {
    ok = await db().finishWorkflow(ctx.workflowID, status, output, error, fenceOf(ctx), Date.now(), last);
  } catch (err) {
    throw lostDatabase(ctx, err);
  }
  if (ok && last) hook(() => hooks.afterRecord?.(ctx.workflowID, last.functionID, last.functionName));
  return ok;
}
