// A worker process of the queue torture (lib/torture/run-queue.ts): serves queue "torture_q"
// (workerConcurrency 2, globalConcurrency 3) with workflow "qjob", until SIGTERM or a SIGKILL.
// qjob(i) runs 3 steps; each step body appends "<workflow id> <function id> <pid>" to
// TORTURE_EFFECTS (the count of real executions); each execution writes its start and end into
// torture_q_runs (how many ran at once). It returns 30 * i + 3.
import { appendFileSync } from 'node:fs';
import { currentExecutionAttempt } from '../context.js';
import { DBOS } from '../dbos.js';

// torture_q_runs is made by the harness (run-queue.ts RUNS_TABLE) before any worker starts.
export const TORTURE_QUEUE = { name: 'torture_q', workerConcurrency: 2, globalConcurrency: 3 };

DBOS.registerQueue(TORTURE_QUEUE.name, { workerConcurrency: TORTURE_QUEUE.workerConcurrency, globalConcurrency: TORTURE_QUEUE.globalConcurrency, minPollingIntervalMs: 10 });

const qstep = DBOS.registerStep(async function qstep(i: number, fid: number) {
  appendFileSync(process.env.TORTURE_EFFECTS!, `${DBOS.workflowID} ${DBOS.stepID} ${process.pid}\n`);
  await new Promise((r) => setTimeout(r, 20 + ((i * 7 + fid * 3) % 30)));
  return 10 * i + fid;
});

DBOS.registerWorkflow(async function qjob(i: number) {
  const attempt = currentExecutionAttempt();
  await DBOS.appDatabase.query('INSERT INTO torture_q_runs (job, attempt, pid, started_at) VALUES (?, ?, ?, ?)', [i, attempt, process.pid, Date.now()]);
  let sum = 0;
  for (let fid = 0; fid < 3; fid++) sum += await qstep(i, fid);
  await DBOS.appDatabase.query('UPDATE torture_q_runs SET ended_at = ? WHERE job = ? AND attempt = ?', [Date.now(), i, attempt]);
  return sum;
}, { name: 'qjob' });

DBOS.setConfig({ name: 'torture' });
await DBOS.launch();
// The handler comes before READY: a write to a pipe is synchronous, so the SIGTERM that READY
// prompts can arrive before the next statement runs (the torture saw workers die of it).
const stop = new Promise((r) => process.on('SIGTERM', r));
console.log('READY');
await stop;
await DBOS.shutdown();
