// One torture run of the "tx" workload (lib/torture/tx-child.ts, transaction steps) on one
// database: start it again and again (it aborts itself at seeded sites inside and around its
// transactions; we add SIGKILLs after a seeded delay) until it prints RESULT, then check:
//   1. the generic invariants (integrity, named statuses, every workflow SUCCESS, no gaps);
//   2. the raw rows of the app table equal the recorded transaction outcomes, exactly: every
//      recorded success of step i (output n) has exactly n rows with its function id; a recorded
//      failure has none (it was rolled back); no row belongs to a function id without an outcome;
//      TX_STEPS successes; the row count is the sum of the successes' outputs and the RESULT's.
import { withDatabase } from '../storage/open.js';
import { freshDatabase, type FreshKind as TortureDb } from '../storage/fresh.js';
import type { SystemDatabase } from '../storage/types.js';
import { restartUntilResult } from './restarts.js';
import { checkStorage, checkWorkflows } from './invariants.js';
import { deserialize } from '../serialize.js';
import type { RunStats, TortureOptions } from './run-counter.js';

export const TX_PROGRAM = 'lib/torture/tx-child.ts';
export const TX_STEPS = 40;
export const TX_TABLE = 'tx_rows';
/** Rows step i writes: 1 to 3, so a lost or doubled transaction changes the sum. */
export const rowsFor = (i: number): number => (i % 3) + 1;
const CRASH_SITES = ['torture-tx-before-write', 'torture-tx-after-write', 'torture-tx-before-commit', 'torture-tx-after-commit', 'torture-tx-between-steps'];

interface TxResult { rows: number; failures: number }

/** Invariant 2; returns how many transactions failed after their write (rolled back and recorded). */
export async function checkTxRows(db: SystemDatabase, rootID: string, result: TxResult | undefined, bad: (m: string) => void): Promise<number> {
  const rows = new Map<number, number>();
  for (const r of await db.app.query<Record<string, unknown>>(`SELECT function_id, COUNT(*) AS n FROM ${TX_TABLE} WHERE workflow_id = ? GROUP BY function_id`, [rootID])) {
    rows.set(Number(r.function_id), Number(r.n));
  }
  const ops = (await db.loadOperations(rootID)).filter((o) => o.functionName === 'insertRows');
  let successes = 0;
  let expected = 0;
  for (const o of ops) {
    const got = rows.get(o.functionID) ?? 0;
    rows.delete(o.functionID);
    if (o.error !== null) {
      if (got) bad(`${rootID}#${o.functionID}: its transaction is recorded as failed, yet ${got} of its rows are stored (not rolled back)`);
      continue;
    }
    successes++;
    const n = Number(deserialize(o.output)); // SuperJSON text, as DBOS stores a value
    expected += n;
    if (got !== n) bad(`${rootID}#${o.functionID}: its recorded outcome says ${n} rows, ${got} are stored`);
  }
  for (const [fid, n] of rows) bad(`${rootID}#${fid}: ${n} rows stored for a function id with no recorded transaction outcome`);
  if (successes !== TX_STEPS) bad(`${successes} transaction steps recorded a success, expected ${TX_STEPS}`);
  const [{ n: total }] = await db.app.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${TX_TABLE} WHERE workflow_id = ?`, [rootID]);
  if (Number(total) !== expected) bad(`raw COUNT(*) of ${TX_TABLE} is ${total}, the recorded outcomes add up to ${expected}`);
  if (result && result.rows !== expected) bad(`the workflow's result counts ${result.rows} rows, the recorded outcomes ${expected}`);
  return ops.length - successes;
}

export async function runTxSeed(db: TortureDb, seed: number, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [], notes: [] };
  const place = await freshDatabase(db, 'torture', `tx_s${seed}`, opts.pgAdminUrl);
  const rootID = `torture-tx-${seed}`;
  let result: TxResult | undefined;
  try {
    ({ result } = await restartUntilResult<TxResult>(db, seed, opts, stats, {
      program: TX_PROGRAM, crashSites: CRASH_SITES, env: () => ({ ...place.env, WORKBOOK_SEED: String(seed), TORTURE_WORKFLOW_ID: rootID }),
    }));
    await withDatabase(place.choice, 'torture', 'torture-check', async (sys) => {
      const bad = (m: string) => stats.violations.push(m);
      await checkStorage(sys, bad);
      stats.recoveries = await checkWorkflows(sys, bad);
      stats.retries = await checkTxRows(sys, rootID, result, bad); // the "step retries" column: transactions rolled back and called again
    });
  } catch (err) {
    stats.violations.push(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = place.where;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
