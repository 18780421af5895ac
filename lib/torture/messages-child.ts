// One process of the crash torture's "messages" workload (time and messages), started again and
// again by scripts/torture.ts --workload messages until it prints RESULT. Two workflows talk:
//
//   tortureSender(seed)     per message i: a step, DBOS.send(receiver, { i, v }, "t"), DBOS.setEvent("tx-i"),
//                           and after every odd i a DBOS.sleep(SLEEP_MS.tx) then a step that returns Date.now()
//   tortureReceiver(seed)   per message: DBOS.recv("t", 2 s) until it returns one (two function ids
//                           each: the receive and its durable timeout), a step, DBOS.setEvent("rx-i"),
//                           and after every third a DBOS.sleep(SLEEP_MS.rx) then the same clock step
//
// Every event's value carries the execution attempt that wrote it, so a replay that wrote it again
// shows; every step body appends "<workflow id> <function id> <pid>" to TORTURE_EFFECTS.
// Deaths: its own seeded process.abort() between any two operations and right before and after
// each recording (the engine's record hooks fire around steps, sleeps, setEvent, send and recv),
// and a SIGKILL from outside, counted from STARTED. lib/torture/run-messages.ts checks the database.
//
//   env: TORTURE_SEED, WORKBOOK_SEED and WORKBOOK_P_TORTURE_MSG_* (the faults), the database, TORTURE_WORKFLOW_ID, TORTURE_EFFECTS
//   stdout: STARTED, RESULT: <json>
import { appendFileSync } from 'node:fs';
import { currentExecutionAttempt } from '../context.js';
import { DBOS } from '../dbos.js';
import { hooks } from '../engine.js';
import { faultsOrExit, runLesson } from '../lesson.js';
import { MESSAGES, RECV_POLL_MS, RECV_TIMEOUT_S, SLEEP_MS, messageIDs, sleepsAfter } from './messages-layout.js';

process.stdout.write('STARTED\n');
const faults = faultsOrExit({ 'torture-msg-between-ops': 0.01, 'torture-msg-before-record': 0.01, 'torture-msg-after-record': 0.01 });
hooks.beforeRecord = () => faults.crashHere('torture-msg-before-record');
hooks.afterRecord = () => faults.crashHere('torture-msg-after-record');
const between = () => faults.crashHere('torture-msg-between-ops');

const effect = DBOS.registerStep(async function effect(i: number) {
  appendFileSync(process.env.TORTURE_EFFECTS!, `${DBOS.workflowID} ${DBOS.stepID} ${process.pid}\n`);
  return i;
});

/** The time this body ran: recorded, so the check can hold it against the sleep's recorded wake-up time. */
const clock = DBOS.registerStep(async function clock() {
  return Date.now();
});

const tortureReceiver = DBOS.registerWorkflow(async function tortureReceiver(seed: number) {
  const got: number[] = [];
  for (let k = 0; k < MESSAGES; k++) {
    let m: { i: number; v: number } | null = null;
    while (m === null) { // timed out: again (its deadline may have passed while no process ran)
      m = await DBOS.recv<{ i: number; v: number }>('t', { timeoutSeconds: RECV_TIMEOUT_S, pollingIntervalMs: RECV_POLL_MS });
      between();
    }
    got.push(await effect(m.i));
    between();
    await DBOS.setEvent(`rx-${k}`, { i: m.i, v: m.v, attempt: currentExecutionAttempt() });
    between();
    if (sleepsAfter('rx', k)) {
      await DBOS.sleep(SLEEP_MS.rx);
      between();
      await clock();
    }
  }
  return { seed, got };
});

const tortureSender = DBOS.registerWorkflow(async function tortureSender(seed: number, receiverID: string) {
  for (let i = 0; i < MESSAGES; i++) {
    await effect(i);
    between();
    await DBOS.send(receiverID, { i, v: seed * 1000 + i }, 't');
    between();
    await DBOS.setEvent(`tx-${i}`, { i, attempt: currentExecutionAttempt() });
    between();
    if (sleepsAfter('tx', i)) {
      await DBOS.sleep(SLEEP_MS.tx);
      between();
      await clock();
    }
  }
  return MESSAGES;
});

const seed = Number(process.env.TORTURE_SEED ?? 1); // the run's seed; WORKBOOK_SEED (the faults') differs per process
await runLesson('torture', async () => {
  const ids = messageIDs(process.env.TORTURE_WORKFLOW_ID!);
  // The receiver first: a send to a workflow that does not exist yet fails. Each start attaches on a restart.
  const rx = await DBOS.startWorkflow(tortureReceiver, { workflowID: ids.receiver })(seed);
  const tx = await DBOS.startWorkflow(tortureSender, { workflowID: ids.sender })(seed, ids.receiver);
  console.log(`RESULT: ${JSON.stringify({ sent: await tx.getResult(), received: await rx.getResult() })}`);
});
