// One process of the crash torture's "tx" workload (transaction steps), started again and again by
// scripts/torture.ts --workload tx until it prints RESULT. It may die anywhere: its own seeded
// process.abort() inside a transaction (before the write, after it, right before COMMIT), right
// after COMMIT, between steps; or a SIGKILL from outside, counted from STARTED.
//
//   tortureTx(seed)       TX_STEPS transaction steps; step i inserts rowsFor(i) rows into tx_rows,
//                         tagged with its function id, then may fail (rolled back, recorded as the
//                         step's error; the workflow calls it again as a new step). Meanwhile a
//                         child workflow of plain steps runs in the same process, so SQLite's group
//                         commit has writes to send while transactions are open.
//   env: WORKBOOK_SEED, WORKBOOK_P_TORTURE_TX_* (probabilities), the database, TORTURE_WORKFLOW_ID
//   stdout: STARTED, RESULT: <json>
// lib/torture/run-tx.ts checks after every run: the raw rows equal the recorded outcomes, exactly.
import { DBOS } from '../dbos.js';
import { hooks } from '../engine.js';
import { parseSeed } from '../faults.js';
import { faultsOrExit, runLesson } from '../lesson.js';

import { rowsFor, TX_STEPS, TX_TABLE } from './run-tx.js';

const SIDE_STEPS = 20;

process.stdout.write('STARTED\n');
const faults = faultsOrExit({
  'torture-tx-before-write': 0.01, 'torture-tx-after-write': 0.01, 'torture-tx-before-commit': 0.01,
  'torture-tx-after-commit': 0.01, 'torture-tx-between-steps': 0.005, 'torture-tx-fail': 0.3, 'torture-tx-before-end': 0.05,
});
// The engine calls these for a transaction step inside its transaction (before COMMIT) and after COMMIT.
hooks.beforeRecord = () => faults.crashHere('torture-tx-before-commit');
hooks.afterRecord = () => faults.crashHere('torture-tx-after-commit');
// Its last step's outcome, pending, commits with the workflow's end (promise 15): a death in between re-runs that step.
hooks.beforeEnd = () => faults.crashHere('torture-tx-before-end');

const FAIL_TRIES = 5; // the fifth call of a step never fails on purpose: every step ends in success

const insertRows = DBOS.registerTransaction(async function insertRows(i: number, tryN: number) {
  const tx = DBOS.appDatabase;
  faults.crashHere('torture-tx-before-write');
  for (let r = 0; r < rowsFor(i); r++) {
    await tx.query(`INSERT INTO ${TX_TABLE} (workflow_id, function_id, step, r) VALUES (?, ?, ?, ?)`, [DBOS.workflowID!, DBOS.stepID!, i, r]);
  }
  faults.crashHere('torture-tx-after-write');
  if (tryN < FAIL_TRIES) faults.failHere('torture-tx-fail');
  return rowsFor(i);
});

const sideStep = DBOS.registerStep(async function sideStep(k: number) {
  return k * 2;
});

const tortureTxSide = DBOS.registerWorkflow(async function tortureTxSide() {
  let sum = 0;
  for (let k = 0; k < SIDE_STEPS; k++) sum += await sideStep(k);
  return sum;
});

const createTable = DBOS.registerStep(async function createTable() {
  await DBOS.appDatabase.exec(`CREATE TABLE IF NOT EXISTS ${TX_TABLE} (workflow_id TEXT NOT NULL, function_id INTEGER NOT NULL, step INTEGER NOT NULL, r INTEGER NOT NULL)`);
});

const tortureTx = DBOS.registerWorkflow(async function tortureTx(seed: number) {
  await createTable();
  const side = await DBOS.startWorkflow(tortureTxSide)(); // runs alongside the transactions
  let rows = 0;
  let failures = 0;
  for (let i = 0; i < TX_STEPS; i++) {
    for (let tryN = 1; ; tryN++) {
      try {
        rows += await insertRows(i, tryN);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'INJECTED') throw err;
        failures++;
      }
    }
    faults.crashHere('torture-tx-between-steps');
  }
  return { seed, rows, failures, side: await side.getResult() };
});

const seed = parseSeed();
await runLesson('torture', async () => {
  const handle = await DBOS.startWorkflow(tortureTx, { workflowID: process.env.TORTURE_WORKFLOW_ID! })(seed);
  console.log(`RESULT: ${JSON.stringify(await handle.getResult())}`);
});
