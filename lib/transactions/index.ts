// Transaction steps (docs/DESIGN.md promise 13): a step whose function gets a transaction on the app
// database, the same database as the system tables, and whose recorded outcome (its
// operation_outputs row) is written in that same transaction, fenced by the execution's ownership.
// A crash leaves the app's rows and their checkpoint, or neither; a replay returns the recorded
// outcome and the function does not run again. Names as DBOS Transact's datasources:
// `DBOS.runTransaction(fn, { name })`, `DBOS.registerTransaction(fn, { name })`.
//
// What happens on each outcome:
// - the function returns: its value and the app's writes commit together (if the fence holds);
// - a serialization failure or deadlock (PostgreSQL 40001, 40P01; SQLite busy past busy_timeout):
//   everything is rolled back and the whole transaction runs again, up to MAX_TRANSACTION_ATTEMPTS;
// - any other error of the function: everything is rolled back, and the error is recorded as the
//   step's outcome in a write of its own after the rollback (so a replay throws it again);
// - the fence refuses (another execution took the workflow over, or it was cancelled): everything
//   is rolled back and nothing is recorded; this execution stops, as after any refused write;
// - the engine's own statements fail (BEGIN, COMMIT, a lost connection): nothing is recorded, the
//   error goes up; whether the commit landed is for the next execution's replay to find out.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { contextStore, currentContext, type WorkflowContext } from '../context.js';
import { fenceError, fenceOf, hooks, record, replay, takeRecorded } from '../engine.js';
import { ConfigError, WorkflowCancelledError } from '../errors.js';
import { log } from '../log.js';
import { flushPending } from '../pending.js';
import { deserialize, serialize, serializeError } from '../serialize.js';
import { db } from '../state.js';
import type { AppDatabase, IsolationLevel } from '../storage/types.js';

export interface TransactionConfig {
  /** the name recorded for the step (default: the function's name) */
  name?: string;
  /** PostgreSQL isolation level (default READ COMMITTED); SQLite is always serializable */
  isolationLevel?: IsolationLevel;
}

/** Attempts of one transaction step when it meets serialization failures or deadlocks (then its error is recorded). */
export const MAX_TRANSACTION_ATTEMPTS = 10;
/** Waits between those attempts: 10 ms, doubling, at most 1 s. */
const backoffMs = (attempt: number) => Math.min(1000, 10 * 2 ** (attempt - 1));

const ISOLATION_LEVELS: IsolationLevel[] = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'];

const txStore = new AsyncLocalStorage<AppDatabase>();

/** True while this module calls a record hook: the crash-test harness then says "before COMMIT" / "after COMMIT". */
let inRecordHook = false;
export const isTransactionRecordHook = (): boolean => inRecordHook;

/** Calls an engine record hook, marked as a transaction step's (hooks are synchronous). */
function recordHook(hook: typeof hooks.beforeRecord, workflowID: string, functionID: number, name: string): void {
  if (!hook) return;
  inRecordHook = true;
  try {
    hook(workflowID, functionID, name);
  } finally {
    inRecordHook = false;
  }
}

/** The open transaction of the transaction step running here (DBOS.appDatabase returns it inside one). */
export function currentTransaction(): AppDatabase | undefined {
  return txStore.getStore();
}

export function resolveTransactionConfig(name: string | undefined, cfg: TransactionConfig): { name: string; isolationLevel?: IsolationLevel } {
  if (!name) throw new ConfigError('A transaction step needs a name: pass { name } to DBOS.registerTransaction / DBOS.runTransaction, or use a named function.');
  if (cfg.isolationLevel !== undefined && !ISOLATION_LEVELS.includes(cfg.isolationLevel))
    throw new ConfigError(`Transaction "${name}": isolationLevel must be one of ${ISOLATION_LEVELS.join(', ')} (got ${JSON.stringify(cfg.isolationLevel)}).`);
  return { name, isolationLevel: cfg.isolationLevel };
}

/** Runs `fn(tx, ...args)` as a transaction step of the current workflow; outside one, as a plain transaction. */
export async function runTransactionStep<R>(
  cfg: { name: string; isolationLevel?: IsolationLevel },
  fn: (tx: AppDatabase, ...args: unknown[]) => Promise<R>,
  args: unknown[],
): Promise<R> {
  const ctx = currentContext();
  const inTransaction = currentTransaction();
  // Inside another transaction step: the same transaction (its outcome is the outer step's).
  if (inTransaction) return fn(inTransaction, ...args);
  if (!ctx || ctx.step) return plainTransaction(cfg, fn, args);
  if (ctx.cancelled) throw new WorkflowCancelledError(ctx.workflowID);
  const functionID = ctx.nextFunctionID++;
  const rec = takeRecorded(ctx, functionID, cfg.name); // promise 4: the same name at the same function id
  if (rec) return replay<R>(rec);
  return runAndRecord(ctx, functionID, cfg, fn, args);
}

async function runAndRecord<R>(
  ctx: WorkflowContext, functionID: number, cfg: { name: string; isolationLevel?: IsolationLevel },
  fn: (tx: AppDatabase, ...args: unknown[]) => Promise<R>, args: unknown[],
): Promise<R> {
  const { name } = cfg;
  await flushPending(ctx); // the step before it is durable before this transaction's writes can depend on it
  const startedAt = Date.now();
  const fence = fenceOf(ctx);
  for (let attempt = 1; ; attempt++) {
    let fromFunction = false;
    try {
      const res = await db().recordInTransaction<string | null>(async (tx) => {
        try {
          hooks.beforeStep?.(ctx.workflowID, functionID, name, attempt);
          const step = { stepID: functionID, currentAttempt: attempt, maxAttempts: MAX_TRANSACTION_ATTEMPTS };
          const value = await txStore.run(tx, () => contextStore.run({ ...ctx, step }, () => fn(tx, ...args)));
          return serialize(value, `the result of transaction ${name}`);
        } catch (err) {
          fromFunction = true;
          throw err;
        }
      }, {
        isolationLevel: cfg.isolationLevel,
        record: (output) => ({
          fence,
          op: {
            workflowID: ctx.workflowID, functionID, functionName: name, output, error: null, childWorkflowID: null,
            attempts: attempt, startedAtEpochMs: startedAt, completedAtEpochMs: Date.now(),
          },
        }),
        // The harness's "before record" crash point is here: inside the transaction, before COMMIT.
        beforeCommit: () => recordHook(hooks.beforeRecord, ctx.workflowID, functionID, name),
      });
      if (!res.recorded) {
        ctx.fenced = true;
        throw await fenceError(ctx);
      }
      recordHook(hooks.afterRecord, ctx.workflowID, functionID, name); // after COMMIT
      return deserialize<R>(res.value);
    } catch (err) {
      if (ctx.fenced) throw err;
      const retriable = db().isRetriableTransactionError(err);
      if (retriable && attempt < MAX_TRANSACTION_ATTEMPTS) {
        log.info(`transaction ${name} (workflow ${ctx.workflowID}, step ${functionID}): ${(err as Error).message}; rolled back, attempt ${attempt + 1} of ${MAX_TRANSACTION_ATTEMPTS} in ${backoffMs(attempt)} ms`);
        await sleep(backoffMs(attempt));
        continue;
      }
      // The engine's own statements failed (not the function, not a conflict): not the step's outcome.
      if (!fromFunction && !retriable) throw err;
      // Rolled back; the error is the step's outcome, recorded in a write of its own (fenced as any step's).
      await record(ctx, {
        workflowID: ctx.workflowID, functionID, functionName: name, output: null, error: serializeError(err),
        childWorkflowID: null, attempts: attempt, startedAtEpochMs: startedAt, completedAtEpochMs: Date.now(),
      });
      throw err;
    }
  }
}

/** Outside a workflow (or inside a plain step): one transaction, nothing recorded; conflicts retried the same way. */
async function plainTransaction<R>(cfg: { name: string; isolationLevel?: IsolationLevel }, fn: (tx: AppDatabase, ...args: unknown[]) => Promise<R>, args: unknown[]): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await db().recordInTransaction((tx) => txStore.run(tx, () => fn(tx, ...args)), { isolationLevel: cfg.isolationLevel });
      return res.value;
    } catch (err) {
      if (!db().isRetriableTransactionError(err) || attempt >= MAX_TRANSACTION_ATTEMPTS) throw err;
      await sleep(backoffMs(attempt));
    }
  }
}
