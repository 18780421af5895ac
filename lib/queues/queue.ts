// A queue's settings, checked once when it is registered, with DBOS Transact's names and defaults
// (QueueParameters in dbos-transact-ts src/wfqueue.ts). Registering happens before DBOS.launch():
// launch() starts one polling loop per registered queue (worker.ts).
import { ConfigError } from '../errors.js';
import { state } from '../state.js';

export interface QueueRateLimit {
  /** at most this many workflows start ... */
  limitPerPeriod: number;
  /** ... in any window of this many seconds, across all workers */
  periodSec: number;
}

export interface QueueParameters {
  /** most workflows of this queue one process runs at once (default: no limit) */
  workerConcurrency?: number;
  /** most workflows of this queue all processes run at once (default: no limit) */
  globalConcurrency?: number;
  /** most starts per period, across all workers (default: no limit) */
  rateLimit?: QueueRateLimit;
  /** how often this process looks for work on the queue, in ms (default 1000, as DBOS) */
  minPollingIntervalMs?: number;
}

export class WorkflowQueue {
  readonly workerConcurrency?: number;
  readonly globalConcurrency?: number;
  readonly rateLimit?: QueueRateLimit;
  readonly minPollingIntervalMs: number;

  constructor(readonly name: string, p: QueueParameters = {}) {
    this.workerConcurrency = p.workerConcurrency;
    this.globalConcurrency = p.globalConcurrency;
    this.rateLimit = p.rateLimit && { ...p.rateLimit };
    this.minPollingIntervalMs = p.minPollingIntervalMs ?? 1000;
  }
}

/** The queues this process registered, by name. */
export const queues = new Map<string, WorkflowQueue>();

function wholePositive(queue: string, what: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
    throw new ConfigError(`Queue "${queue}": ${what} must be a whole number >= 1 (got ${JSON.stringify(v)}). Leave it out for no limit.`);
}

function positive(queue: string, what: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`Queue "${queue}": ${what} must be a number > 0 (got ${JSON.stringify(v)}).`);
}

/** DBOS.registerQueue: checks the settings and keeps the queue for launch(). */
export function registerQueue(name: string, p: QueueParameters = {}): WorkflowQueue {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(name))
    throw new ConfigError(`A queue name must be 1 to 100 letters, digits, _ . : or - (got ${JSON.stringify(name)}).`);
  if (state.db) throw new ConfigError(`Queue "${name}" was registered after DBOS.launch(): call DBOS.registerQueue before DBOS.launch(), which starts the queues' workers.`);
  if (queues.has(name)) throw new ConfigError(`A queue named "${name}" is already registered: give this one another name, or reuse the queue.`);
  const known = new Set(['workerConcurrency', 'globalConcurrency', 'rateLimit', 'minPollingIntervalMs']);
  for (const k of Object.keys(p)) if (!known.has(k)) throw new ConfigError(`Queue "${name}": unknown setting "${k}" (known: ${[...known].join(', ')}).`);
  wholePositive(name, 'workerConcurrency', p.workerConcurrency);
  wholePositive(name, 'globalConcurrency', p.globalConcurrency);
  if (p.workerConcurrency !== undefined && p.globalConcurrency !== undefined && p.workerConcurrency > p.globalConcurrency)
    throw new ConfigError(`Queue "${name}": workerConcurrency (${p.workerConcurrency}) must be <= globalConcurrency (${p.globalConcurrency}).`);
  if (p.rateLimit !== undefined) {
    if (typeof p.rateLimit !== 'object' || p.rateLimit === null || p.rateLimit.limitPerPeriod === undefined || p.rateLimit.periodSec === undefined)
      throw new ConfigError(`Queue "${name}": rateLimit must give both limitPerPeriod and periodSec, e.g. { limitPerPeriod: 10, periodSec: 1 }.`);
    wholePositive(name, 'rateLimit.limitPerPeriod', p.rateLimit.limitPerPeriod);
    positive(name, 'rateLimit.periodSec', p.rateLimit.periodSec);
  }
  positive(name, 'minPollingIntervalMs', p.minPollingIntervalMs);
  const q = new WorkflowQueue(name, p);
  queues.set(name, q);
  return q;
}

/** The registered queue of that name, or the error that says how to register it. */
export function queueNamed(name: unknown): WorkflowQueue {
  const q = typeof name === 'string' ? queues.get(name) : undefined;
  if (!q) {
    const known = [...queues.keys()];
    throw new ConfigError(`Unknown queue ${JSON.stringify(name)}: no queue of that name is registered in this process (known: ${known.length ? known.join(', ') : 'none'}). ` +
      `Register it before DBOS.launch(): DBOS.registerQueue(${JSON.stringify(name)}, { workerConcurrency: 2 }).`);
  }
  return q;
}
