// The "messages" torture workload's shape (lib/torture/messages-child.ts), shared with its check
// (lib/torture/run-messages.ts): how many messages, which sleeps, and the operation each function
// id must have recorded.
import { OP } from '../messages/op.js';

export const MESSAGES = 8;
/** ms each explicit DBOS.sleep waits: the receiver's after every third message, the sender's after every odd one */
export const SLEEP_MS = { rx: 40, tx: 30 } as const;
/**
 * recv's timeout: its durable deadline is recorded as a DBOS.sleep too. Short, so that the timeout
 * path is crossed too: a recv recovered after its deadline returns null at once (as DBOS), and the
 * receiver calls recv again (a restart after a death can take longer than any timeout).
 */
export const RECV_TIMEOUT_S = 2;
/** how often a waiting recv looks (ms) */
export const RECV_POLL_MS = 20;

export const sleepsAfter = (who: 'rx' | 'tx', k: number): boolean => (who === 'rx' ? k % 3 === 0 : k % 2 === 1);

export const messageIDs = (root: string) => ({ receiver: `${root}-rx`, sender: `${root}-tx` });

/** The operation names by function id, as the workflow calls them (the receiver's timed-out recvs left out: see run-messages.ts). */
export function expectedNames(who: 'rx' | 'tx'): string[] {
  const names: string[] = [];
  for (let k = 0; k < MESSAGES; k++) {
    if (who === 'rx') names.push(OP.recv, OP.sleep, 'effect', OP.setEvent);
    else names.push('effect', OP.send, OP.setEvent);
    if (sleepsAfter(who, k)) names.push(OP.sleep, 'clock');
  }
  return names;
}
