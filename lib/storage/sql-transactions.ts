// Transaction steps (lib/transactions/), the storage side: the app's writes and the step's outcome
// in one transaction, in SQL both databases understand. A driver supplies `interactive` (BEGIN ...
// COMMIT on one connection) and the clause that locks the workflow's row until COMMIT.
import type { Driver, TxConnection } from './driver.js';
import { FENCE, hotParams } from './hot-sql.js';
import type { AppDatabase, TransactionOptions } from './types.js';

/** Internal control flow, never seen by a user: the fence refused, roll everything back. */
const FENCED = Symbol('fenced');

/** See TransactionSteps.recordInTransaction (types.ts). `recordSql` is the hot recordOperation statement. */
export async function recordInTransaction<T>(
  d: Driver, recordSql: string, app: AppDatabase, fn: (tx: AppDatabase) => Promise<T>, opts: TransactionOptions<T>,
): Promise<{ value: T; recorded: boolean }> {
  const S = d.schemaPrefix;
  try {
    return await d.interactive(async (t) => {
      const value = await fn(appOn(t, app));
      if (!opts.record) return { value, recorded: true };
      const { op, fence } = opts.record(value);
      // The fence, checked in this transaction and held until COMMIT: a takeover (claimWorkflow's
      // UPDATE of this row) waits for us, so the new owner reads our outcome and replays it.
      const owned = await t.all(`SELECT 1 AS ok FROM ${S}workflow_status WHERE workflow_uuid = ? AND ${FENCE}${d.lockRowsClause}`,
        [op.workflowID, fence.executorID, fence.attempt]);
      if (owned.length === 0 || (await t.run(recordSql, hotParams.recordOperation(op, fence))) !== 1) throw FENCED;
      opts.beforeCommit?.();
      return { value, recorded: true };
    }, opts.isolationLevel);
  } catch (err) {
    if (err === FENCED) return { value: undefined as T, recorded: false }; // rolled back: the app's writes too
    throw err;
  }
}

/** The app's tables through an open transaction: the same interface as DBOS.appDatabase. */
function appOn(t: TxConnection, app: AppDatabase): AppDatabase {
  return {
    dialect: app.dialect,
    schemaPrefix: app.schemaPrefix,
    exec: async (sql) => void (await t.run(sql)),
    query: (sql, params) => t.all(sql, params),
    batch: async (statements) => {
      for (const s of statements) await t.run(s.sql, s.params); // already inside one transaction
    },
  };
}
