// Durable sleep (promise 12): the wake-up time is recorded before the workflow waits, so an
// execution recovered in the middle of a sleep waits only what is left, and one recovered after
// its wake-up time goes on at once. As DBOS.sleep / DBOS.sleepms.
import { ConfigError } from '../errors.js';
import { durableDeadline, waitUntil, workflowContext } from './op.js';

export async function sleepms(durationMS: number): Promise<void> {
  if (!Number.isFinite(durationMS)) throw new ConfigError(`DBOS.sleep needs a finite number of milliseconds (got ${durationMS}).`);
  const ctx = workflowContext();
  // The function id is taken before any await, and also for a sleep of 0: a replay counts the same.
  const functionID = ctx ? ctx.nextFunctionID++ : -1;
  if (durationMS <= 0) return;
  const wake = await durableDeadline(ctx, functionID, durationMS);
  await waitUntil(ctx, wake);
}
