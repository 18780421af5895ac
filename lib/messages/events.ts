// Events (promise 12): DBOS.setEvent(key, value) inside a workflow, recorded in the same
// transaction that writes workflow_events, so a replay does not write it again; DBOS.getEvent
// (workflowID, key, timeoutSeconds) from anywhere waits until the key is set or the time is up.
// A key set again takes the new value (as DBOS: one value per key, the latest).
import { db } from '../state.js';
import { ConfigError } from '../errors.js';
import { record, takeRecorded } from '../engine.js';
import { durableDeadline, fenceOf, fencedWrite, fromText, OP, opRow, pollUntil, toText, waitOptions, workflowContext, type WaitOptions } from './op.js';

export async function setEvent<T>(key: string, value: T): Promise<void> {
  if (typeof key !== 'string' || key === '') throw new ConfigError('DBOS.setEvent needs a key: a non-empty string.');
  const ctx = workflowContext();
  if (!ctx) throw new ConfigError(`DBOS.setEvent("${key}") was called outside a workflow: only a workflow sets events (call it in the workflow's body, not in a step).`);
  const functionID = ctx.nextFunctionID++;
  if (takeRecorded(ctx, functionID, OP.setEvent)) return; // set by an earlier execution: not again
  const startedAt = Date.now();
  const text = toText(value, `the value of event ${key}`);
  const op = opRow(ctx, functionID, OP.setEvent, null, startedAt);
  await fencedWrite(ctx, functionID, OP.setEvent, () => db().setEvent(op, key, text, fenceOf(ctx)));
}

export async function getEvent<T>(workflowID: string, key: string, options?: number | WaitOptions): Promise<T | null> {
  const { timeoutMs, pollMs } = waitOptions(`DBOS.getEvent("${workflowID}", "${key}")`, options);
  const ctx = workflowContext();
  // Inside a workflow it takes two function ids, as DBOS: the read, then its durable timeout.
  const functionID = ctx ? ctx.nextFunctionID++ : -1;
  const timeoutID = ctx ? ctx.nextFunctionID++ : -1;
  if (ctx) {
    const rec = takeRecorded(ctx, functionID, OP.getEvent);
    if (rec) return fromText<T>(rec.output);
  }
  const startedAt = Date.now();
  const deadline = await durableDeadline(ctx, timeoutID, timeoutMs);
  let text: string | undefined;
  await pollUntil(ctx, deadline, pollMs, async () => (text = await db().getEvent(workflowID, key)) !== undefined);
  if (ctx) await record(ctx, opRow(ctx, functionID, OP.getEvent, text ?? null, startedAt));
  return fromText<T>(text);
}
