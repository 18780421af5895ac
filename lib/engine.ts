// The heart of the engine: start a workflow (idempotent by id), run or replay each step by its
// function id, record outcomes. Promises 1 to 5 of docs/DESIGN.md live here; each is named where it
// is kept. Taking over a workflow whose owner died (promise 6) is lib/claim.ts; the handle that
// awaits a workflow's outcome is lib/handle.ts.
import { randomUUID } from 'node:crypto';
import { claiming, takeOverIfOrphaned } from './claim.js';
import { contextStore, currentContext, type WorkflowContext } from './context.js';
import { checkWorkflowID } from './damaged.js';
import {
  DatabaseUnavailableError,
  UnexpectedStepError,
  WorkbookError,
  WorkflowCancelledError,
  WorkflowConflictError,
  WorkflowFencedError,
} from './errors.js';
import { WorkflowHandle } from './handle.js';
import { log } from './log.js';
import { finishWithPending, flushPending, keepPending } from './pending.js';
import { withRetries, type ResolvedStepConfig } from './retry.js';
import { deserialize, deserializeError, serialize, serializeError } from './serialize.js';
import { db, state, type AnyFn, type LocalOutcome, type WorkflowRegistration } from './state.js';
import { type Fence, type OperationRow, type RecordedOutcome, type SystemDatabase, type WorkflowRow } from './storage/types.js';

/** Test and harness hooks around a step's recording (the crash points of the crash-test harness). */
export const hooks: {
  beforeRecord?: (workflowID: string, functionID: number, name: string) => void;
  afterRecord?: (workflowID: string, functionID: number, name: string) => void;
  /** right before each attempt of a step's function runs (never on replay): lets the harness count executions */
  beforeStep?: (workflowID: string, functionID: number, name: string, attempt: number) => void;
  /** the workflow's function has returned (or thrown), its end not yet written: the last step's outcome may still be pending */
  beforeEnd?: (workflowID: string) => void;
} = {};

/** Only the benchmark turns this off, to measure what the check before each step costs (bench/db-child.ts). */
export const engineTuning = { checkBeforeStep: true };
/** How long after its own start an execution may take the fence as held without reading it: less than a read's round trip. */
export const FENCE_FRESH_MS = 1;

export const fenceOf = (ctx: WorkflowContext): Fence => ({ executorID: ctx.executorID, attempt: ctx.attempt });

/** The recorded outcome at this function id, checked against the name the code calls now (promise 4). */
export function takeRecorded(ctx: WorkflowContext, functionID: number, name: string): RecordedOutcome | undefined {
  const rec = ctx.recorded.get(functionID);
  if (!rec) return undefined;
  if (rec.functionName !== name) throw new UnexpectedStepError(ctx.workflowID, functionID, rec.functionName, name);
  ctx.recorded.delete(functionID); // replayed once: let it go, memory stays flat
  return rec;
}

/** A recorded outcome as its operation returned it: its value, or its error thrown again (promise 2). */
export function replay<R>(rec: RecordedOutcome): R {
  if (rec.error !== null) throw deserializeError(rec.error);
  return deserialize<R>(rec.output);
}

/** Why a fenced write was refused: cancelled, or another execution owns the workflow now. */
export async function fenceError(ctx: WorkflowContext): Promise<WorkbookError> {
  const row = await db().getWorkflow(ctx.workflowID);
  return row?.status === 'CANCELLED' ? new WorkflowCancelledError(ctx.workflowID) : new WorkflowFencedError(ctx.workflowID);
}

/** Notes on the execution that the system database stayed away: it runs no more steps and records no outcome. */
export function lostDatabase(ctx: WorkflowContext, err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError) ctx.databaseLost = err;
  return err;
}

/** Records an operation's outcome now, after any step outcome still pending (lib/pending.ts). */
export async function record(ctx: WorkflowContext, op: OperationRow): Promise<void> {
  await flushPending(ctx);
  await recordNow(ctx, op);
}

/** One fenced write of an outcome; a refusal says why (cancelled, or another execution owns the workflow). */
export async function recordNow(ctx: WorkflowContext, op: OperationRow): Promise<void> {
  hooks.beforeRecord?.(ctx.workflowID, op.functionID, op.functionName);
  let ok: boolean;
  try {
    ok = await db().recordOperation(op, fenceOf(ctx));
  } catch (err) {
    throw lostDatabase(ctx, err);
  }
  if (!ok) {
    ctx.fenced = true;
    throw await fenceError(ctx);
  }
  hooks.afterRecord?.(ctx.workflowID, op.functionID, op.functionName);
}

/**
 * Before a step's body runs (never on replay): this execution must still own the workflow. Once it
 * knows it lost it (a refused write, a cancel, the database gone) it runs no more step bodies, even
 * when the workflow's code catches the error and calls the next step. A cancel or a takeover from
 * another process is seen here, by one indexed read of the workflow's row.
 */
async function mayRunStep(ctx: WorkflowContext): Promise<void> {
  if (ctx.cancelled) throw new WorkflowCancelledError(ctx.workflowID);
  if (ctx.fenced) throw new WorkflowFencedError(ctx.workflowID);
  if (ctx.databaseLost) throw ctx.databaseLost;
  // The outcome pending from the step before is written now, before this body runs: a fenced write,
  // so when it takes, the fence held and need not be read again.
  if (await flushPending(ctx)) return;
  if (!engineTuning.checkBeforeStep) return;
  // Just started here: the insert (or the queue's claim) that made the row ours is that moment's
  // proof, as a flushed write is. Later than FENCE_FRESH_MS after it (the workflow's code awaited
  // something first), the read.
  const heldAt = ctx.fenceHeldAt;
  ctx.fenceHeldAt = undefined;
  if (heldAt !== undefined && performance.now() - heldAt < FENCE_FRESH_MS) return;
  let seen: 'ok' | 'cancelled' | 'fenced';
  try {
    seen = await db().checkFence(ctx.workflowID, fenceOf(ctx));
  } catch (err) {
    throw lostDatabase(ctx, err);
  }
  if (seen === 'cancelled') ctx.cancelled = true;
  if (seen === 'fenced') ctx.fenced = true;
  if (seen !== 'ok') return mayRunStep(ctx);
}

/** Runs a step inside a workflow: replay its recorded outcome (promise 2), or run it with retries and record it. */
export async function runStep<R>(name: string, config: ResolvedStepConfig, fn: AnyFn, args: unknown[]): Promise<R> {
  const ctx = currentContext();
  if (!ctx || ctx.step) return fn(...args); // outside a workflow, or inside another step: a plain call
  if (ctx.cancelled || ctx.fenced || ctx.databaseLost) await mayRunStep(ctx);
  const functionID = ctx.nextFunctionID++;
  const rec = takeRecorded(ctx, functionID, name);
  if (rec !== undefined) return replay<R>(rec); // recorded: replay it (promise 2)
  await mayRunStep(ctx);
  const startedAt = Date.now();
  let attempts = 0;
  let output: string | null = null;
  let error: string | null = null;
  let thrown: unknown;
  const maxAttempts = config.retriesAllowed ? config.maxAttempts : 1;
  try {
    const value = await withRetries(name, config, (n) => {
      attempts = n;
      hooks.beforeStep?.(ctx.workflowID, functionID, name, n);
      // As DBOS: { stepID } alone when the step has no retries.
      const step = config.retriesAllowed ? { stepID: functionID, currentAttempt: n, maxAttempts } : { stepID: functionID };
      return contextStore.run({ ...ctx, step }, () => fn(...args));
    });
    output = serialize(value, `the result of step ${name}`);
  } catch (err) {
    thrown = err;
    error = serializeError(err);
  }
  // Written at the next point that needs it durable: the next step, a message, the end (lib/pending.ts).
  keepPending(ctx, {
    workflowID: ctx.workflowID, functionID, functionName: name, output, error, childWorkflowID: null, attempts,
    startedAtEpochMs: startedAt, completedAtEpochMs: Date.now(),
  });
  if (thrown !== undefined) throw thrown;
  // The value goes through JSON on the first run too, so a replay returns exactly what this run did.
  return deserialize<R>(output);
}

/** One execution of the workflow function here, its outcome recorded, fenced by its attempt. */
async function runExecution(reg: WorkflowRegistration, id: string, args: unknown[], attempt: number, fresh: boolean): Promise<LocalOutcome> {
  try {
    return await runOnce(reg, id, args, attempt, fresh);
  } catch (err) {
    if (!(err instanceof DatabaseUnavailableError)) throw err;
    log.warn(`workflow ${id}: this execution stopped without recording an outcome. ${err.message}`);
    return { kind: 'stopped' };
  }
}

async function runOnce(reg: WorkflowRegistration, id: string, args: unknown[], attempt: number, fresh: boolean): Promise<LocalOutcome> {
  const recorded = fresh ? [] : await db().loadRecorded(id);
  const ctx: WorkflowContext = {
    workflowID: id, attempt, executorID: state.executorID, nextFunctionID: 0,
    recorded: new Map(recorded.map((r) => [r.functionID, r])), cancelled: false,
    fenceHeldAt: fresh ? performance.now() : undefined,
  };
  if (!fresh) log.debug(`workflow ${id}: execution attempt ${attempt}, ${recorded.length} recorded outcomes to replay`);
  state.contexts.set(id, ctx);
  let outcome: LocalOutcome;
  let output: string | null = null;
  let error: string | null = null;
  try {
    const value = await contextStore.run(ctx, () => reg.fn(...args));
    output = serialize(value, `the result of workflow ${reg.name}`);
    outcome = { kind: 'success', value: deserialize(output) };
  } catch (err) {
    // This execution lost the workflow (refused write, or cancelled here): its outcome is not ours to
    // write. The same errors coming from elsewhere (a cancelled child awaited, a step that threw one)
    // are the workflow's own error, recorded as any other.
    if (ctx.fenced || ctx.cancelled) return { kind: 'elsewhere' };
    // The system database stayed away (here or in a child's start): that decides nothing.
    if (ctx.databaseLost || err instanceof DatabaseUnavailableError) throw ctx.databaseLost ?? err;
    error = serializeError(err);
    outcome = { kind: 'error', error: err };
  } finally {
    state.contexts.delete(id);
  }
  const ok = await finishWithPending(ctx, outcome.kind === 'success' ? 'SUCCESS' : 'ERROR', output, error);
  return ok ? outcome : { kind: 'elsewhere' };
}

/** Runs the workflow function in this process and records its outcome, fenced by its attempt. */
export function execute(reg: WorkflowRegistration, id: string, args: unknown[], attempt: number, fresh: boolean): Promise<LocalOutcome> {
  // A module-level function, not a closure made per call: tsx's keepNames wraps each named closure in a defineProperty.
  const p = runExecution(reg, id, args, attempt, fresh).finally(() => state.running.delete(id));
  p.catch((err) => log.warn(`workflow ${id}: the engine could not finish this execution (${(err as Error).message}); it stays PENDING and is recovered on the next start`));
  state.running.set(id, p);
  return p;
}

/** A handle on an existing workflow, taken over here if its owner is gone. */
async function attach(reg: WorkflowRegistration, row: WorkflowRow): Promise<WorkflowHandle<unknown>> {
  if (row.name !== reg.name) throw new WorkflowConflictError(row.workflowID, row.name, reg.name);
  await takeOverIfOrphaned(reg, row);
  return new WorkflowHandle(row.workflowID);
}

/** Starts a workflow, or attaches to the one with that id (promise 1). Inside a workflow it is a child. */
export async function startWorkflow<R>(reg: WorkflowRegistration, args: unknown[], workflowID?: string): Promise<WorkflowHandle<R>> {
  const parent = currentContext();
  const inWorkflow = parent !== undefined && parent.step === undefined;
  let functionID = -1;
  let recorded: RecordedOutcome | undefined;
  if (inWorkflow) {
    functionID = parent.nextFunctionID++;
    recorded = takeRecorded(parent, functionID, reg.name);
    // The child's id comes from the parent's id and the function id: a replay finds the same child.
    workflowID = recorded?.childWorkflowID ?? workflowID ?? `${parent.workflowID}-${functionID}`;
  }
  const id = workflowID ?? randomUUID();
  checkWorkflowID(id);
  if (inWorkflow && !recorded) await flushPending(parent); // the child may act on what the steps before returned
  const inputs = serialize(args, `the inputs of workflow ${reg.name}`);
  const now = Date.now();
  // From the insert's commit to execute() the row names this executor while nothing runs here yet
  // (a slow reply): this process's recovery pass would take it for an orphan and run it a second
  // time (test/66). So until then it counts as being claimed here, which claim() leaves alone.
  const mine = !claiming.has(id);
  if (mine) claiming.add(id);
  let inserted: Awaited<ReturnType<SystemDatabase['insertWorkflow']>>;
  try {
    inserted = await db().insertWorkflow({
      workflowID: id, name: reg.name, inputs, executorID: state.executorID, applicationID: state.appName,
      applicationVersion: state.applicationVersion, parentWorkflowID: inWorkflow ? parent.workflowID : null, now,
    });
    if (inserted.created) execute(reg, id, deserialize<unknown[]>(inputs) ?? [], 1, true);
  } finally {
    if (mine) claiming.delete(id);
  }
  const handle = inserted.created ? new WorkflowHandle<R>(id) : ((await attach(reg, inserted.row)) as WorkflowHandle<R>);
  if (inWorkflow && !recorded) {
    await record(parent, {
      workflowID: parent.workflowID, functionID, functionName: reg.name, output: null, error: null, childWorkflowID: id,
      attempts: 1, startedAtEpochMs: now, completedAtEpochMs: Date.now(),
    });
  }
  return handle;
}

