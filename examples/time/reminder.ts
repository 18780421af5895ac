// A workflow for the crash-test harness (npm run crash-test -- examples/time/reminder.ts reminder):
// it sends itself a message, sleeps durably, receives the message, publishes an event and records
// a reminder. Every one of these is a recorded operation, so the harness crashes before and after
// each (the DBOS.* rows of operation_outputs) and checks that the recovery replays it.
import { DBOS } from '../../lib/index.js';
import { deserialize } from '../../lib/serialize.js';
import type { CheckContext } from '../../lib/harness/index.js';

const compose = DBOS.registerStep(async function compose(who: string) {
  return `remember the milk, ${who}`;
});

export const reminder = DBOS.registerWorkflow(async function reminder(who: string) {
  const text = await compose(who);
  await DBOS.send(DBOS.workflowID!, text, 'note');
  await DBOS.sleep(100);
  const got = await DBOS.recv<string>('note', 5);
  await DBOS.setEvent('reminder', got);
  return got;
});

export const crashTestArgs = ['ann'];

/**
 * The harness's check: the message arrived once, and the event and the notifications row say so;
 * the sleep's wake-up time is the one its recording execution chose (its start + 100 ms), and the
 * recv after it started no earlier, whichever execution ran which.
 */
export async function check({ db, workflowID, result }: CheckContext): Promise<string[]> {
  const problems: string[] = [];
  if (result !== 'remember the milk, ann') problems.push(`the workflow returned ${JSON.stringify(result)}`);
  const S = db.schemaPrefix;
  const events = await db.query<{ value: string }>(`SELECT value FROM ${S}workflow_events WHERE workflow_uuid = ? AND key = 'reminder'`, [workflowID]);
  if (events.length !== 1 || deserialize(events[0].value) !== result) problems.push(`workflow_events holds ${JSON.stringify(events)}`);
  const notes = await db.query<{ consumed: unknown }>(`SELECT consumed FROM ${S}notifications WHERE destination_uuid = ?`, [workflowID]);
  if (notes.length !== 1 || Number(notes[0].consumed) !== 1) problems.push(`notifications holds ${JSON.stringify(notes)} (one consumed message expected)`);
  const ops = await db.query<{ function_name: string; output: string | null; started_at_epoch_ms: unknown }>(
    `SELECT function_name, output, started_at_epoch_ms FROM ${S}operation_outputs WHERE workflow_uuid = ? ORDER BY function_id`, [workflowID]);
  const at = (name: string) => ops.find((o) => o.function_name === name); // the first: the sleep before the recv's timeout
  const sleep = at('DBOS.sleep');
  const recv = at('DBOS.recv');
  const wake = sleep && deserialize<number>(sleep.output);
  if (typeof wake !== 'number' || wake - Number(sleep?.started_at_epoch_ms) !== 100) problems.push(`DBOS.sleep recorded ${JSON.stringify(sleep)}: a wake-up 100 ms after its start expected`);
  else if (!recv || Number(recv.started_at_epoch_ms) < wake) problems.push(`the recv after the sleep started at ${recv?.started_at_epoch_ms}, before the recorded wake-up ${wake}`);
  return problems;
}
