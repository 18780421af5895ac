// Messages (promise 12): DBOS.send(destinationID, message, topic?, idempotencyKey?) and DBOS.recv
// (topic?, timeoutSeconds) in the notifications table. A message is consumed exactly once: the
// consume and the record of recv's outcome are one transaction, fenced by the execution's
// ownership of the workflow. So a crash between recv and the next step replays the recorded
// message, and of two processes recovering the same workflow at once only the owner consumes (the
// other is fenced out and its transaction rolls back: DBOS ts#1205 was this race).
//
// Waiting: a recv or getEvent looks at the database every pollingIntervalMs (default 200 ms), on
// SQLite and on PostgreSQL. PostgreSQL could wake it with LISTEN/NOTIFY instead, but that needs one
// connection per process held outside the pool and a trigger per table; here a waiter costs one
// indexed SELECT per interval and is late by at most one interval, which the lessons never notice.
import { randomUUID } from 'node:crypto';
import { db } from '../state.js';
import { ConfigError, WorkflowNotFoundError } from '../errors.js';
import { record, takeRecorded } from '../engine.js';
import { deserializeError, serializeError } from '../serialize.js';
import { NULL_TOPIC } from '../storage/messages-sql.js';
import { durableDeadline, fenceOf, fencedWrite, fromText, OP, opRow, pollUntil, toText, waitOptions, workflowContext, type WaitOptions } from './op.js';

export async function send<T>(destinationID: string, message: T, topic?: string, idempotencyKey?: string): Promise<void> {
  if (typeof destinationID !== 'string' || destinationID === '') throw new ConfigError('DBOS.send needs a destination workflow id: a non-empty string.');
  const ctx = workflowContext();
  const functionID = ctx ? ctx.nextFunctionID++ : -1;
  if (ctx) {
    const rec = takeRecorded(ctx, functionID, OP.send);
    if (rec) {
      if (rec.error !== null) throw deserializeError(rec.error);
      return; // sent by an earlier execution: not again
    }
  }
  const startedAt = Date.now();
  const m = {
    // As DBOS: an idempotency key names the message, so a retried send from outside delivers once.
    messageID: idempotencyKey ? `${idempotencyKey}::${destinationID}` : randomUUID(),
    destinationID, topic: topic ?? NULL_TOPIC, message: toText(message, `the message to ${destinationID}`), now: startedAt,
  };
  if (!(await db().getWorkflow(destinationID))) {
    const err = new WorkflowNotFoundError(destinationID);
    if (ctx) await record(ctx, opRow(ctx, functionID, OP.send, null, startedAt, serializeError(err)));
    throw err;
  }
  if (!ctx) return void (await db().send(m));
  const op = opRow(ctx, functionID, OP.send, null, startedAt);
  await fencedWrite(ctx, functionID, OP.send, () => db().send(m, { op, fence: fenceOf(ctx) }));
}

export async function recv<T>(topic?: string, options?: number | WaitOptions): Promise<T | null> {
  const ctx = workflowContext();
  if (!ctx) throw new ConfigError('DBOS.recv was called outside a workflow: only a workflow receives messages (call it in the workflow\'s body, not in a step).');
  const { timeoutMs, pollMs } = waitOptions('DBOS.recv', options);
  const t = topic ?? NULL_TOPIC;
  // Two function ids, as DBOS: the receive, then its durable timeout.
  const functionID = ctx.nextFunctionID++;
  const timeoutID = ctx.nextFunctionID++;
  const rec = takeRecorded(ctx, functionID, OP.recv);
  if (rec) return fromText<T>(rec.output);
  const startedAt = Date.now();
  const deadline = await durableDeadline(ctx, timeoutID, timeoutMs);
  await pollUntil(ctx, deadline, pollMs, () => db().hasMessage(ctx.workflowID, t));
  const op = opRow(ctx, functionID, OP.recv, null, startedAt);
  const got = await fencedWrite(ctx, functionID, OP.recv, () => db().recv(op, t, fenceOf(ctx)));
  return fromText<T>(got.message);
}
