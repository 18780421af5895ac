// The workers: a launched process runs the queues it registered. Per queue, a loop that every
// minPollingIntervalMs (and as soon as one of its workflows ends here):
//   1. sends back to ENQUEUED the queue's PENDING workflows whose owner is gone (a SIGKILLed
//      worker: its process is dead, or its heartbeat older than the lease), so that they are claimed
//      again under the queue's limits; their recorded steps replay, they do not run again. This
//      look is made once per tenth of the lease (1 s by default), not at every poll;
//   2. claims the next workflows the limits allow, in one atomic statement (storage/queue-sql.ts says
//      how it keeps globalConcurrency), and runs them here.
// Only workflows whose names this process registered, of its application version, are claimed:
// others wait for a worker that has them.
import { execute } from '../engine.js';
import { MaxRecoveryAttemptsExceededError } from '../errors.js';
import { log } from '../log.js';
import { deserialize } from '../serialize.js';
import { db, ownerAlive, state } from '../state.js';
import type { ClaimedWorkflow, ExecutorStatus, WorkflowRow } from '../storage/types.js';
import { queues, type WorkflowQueue } from './queue.js';

interface Loop {
  queue: WorkflowQueue;
  stopped: boolean;
  /** a workflow of the queue ended here while the loop was busy: poll again without waiting */
  woken: boolean;
  /** when this loop last looked for a dead worker's workflows (Date.now()) */
  requeuedAt: number;
  wake?: () => void;
  done: Promise<void>;
}

const loops: Loop[] = [];

/** Starts one polling loop per registered queue (DBOS.launch calls it after recovery). */
export async function startQueueWorkers(): Promise<void> {
  const names = [...state.workflows.keys()];
  for (const queue of queues.values()) {
    await db().registerQueueWorker({ executorID: state.executorID, queueName: queue.name, workflowNames: names });
    const loop: Loop = { queue, stopped: false, woken: false, requeuedAt: 0, done: Promise.resolve() };
    loop.done = run(loop);
    loops.push(loop);
  }
}

/** Stops polling and waits for the polls in progress (DBOS.shutdown calls it before waiting for the workflows). */
export async function stopQueueWorkers(): Promise<void> {
  for (const l of loops) (l.stopped = true), l.wake?.();
  await Promise.allSettled(loops.splice(0).map((l) => l.done));
}

async function run(loop: Loop): Promise<void> {
  while (!loop.stopped) {
    try {
      // Not at every poll: a poll follows every workflow that ends here, and a dead worker's workflows
      // wait for its lease anyway (or for its pid to be gone, on this host). A tenth of the lease, at
      // least the polling interval: 1 s with the default lease.
      if (Date.now() - loop.requeuedAt >= Math.max(loop.queue.minPollingIntervalMs, state.leaseMs / 10)) {
        loop.requeuedAt = Date.now();
        await requeueOrphans(loop.queue);
      }
      const claimed = await claimNext(loop.queue);
      for (const c of claimed) start(loop, c);
    } catch (err) {
      // The database may be away for a moment: say so and poll again, nothing was taken.
      log.warn(`queue ${loop.queue.name}: polling failed (${(err as Error).message}); trying again in ${loop.queue.minPollingIntervalMs} ms`);
    }
    if (loop.stopped) break;
    if (loop.woken) {
      loop.woken = false;
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, loop.queue.minPollingIntervalMs);
      loop.wake = () => (clearTimeout(t), resolve());
    });
    loop.wake = undefined;
  }
}

function claimNext(q: WorkflowQueue): Promise<ClaimedWorkflow[]> {
  return db().claimQueued({
    queueName: q.name, executorID: state.executorID, applicationID: state.appName, applicationVersion: state.applicationVersion, workflowNames: [...state.workflows.keys()],
    workerConcurrency: q.workerConcurrency, globalConcurrency: q.globalConcurrency, rateLimit: q.rateLimit, now: Date.now(),
  });
}

/** Runs a claimed workflow here, or parks it past its recovery maximum (promise 6 holds on queues too). */
function start(loop: Loop, c: ClaimedWorkflow): void {
  const reg = state.workflows.get(c.name)!; // the claim only takes registered names
  if (c.attempt > reg.maxRecoveryAttempts + 1) {
    void db().setStatus(c.workflowID, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', ['PENDING'], { now: Date.now(), fence: { executorID: state.executorID, attempt: c.attempt } })
      .then(() => log.warn(new MaxRecoveryAttemptsExceededError(c.workflowID, reg.maxRecoveryAttempts).message), (e) => log.warn(`queue ${loop.queue.name}: could not park ${c.workflowID}: ${(e as Error).message}`));
    return;
  }
  log.debug(`queue ${loop.queue.name}: dequeued ${c.workflowID} (${c.name}), execution attempt ${c.attempt}`);
  // A slot frees when it ends: look for the next one at once instead of at the next tick.
  const wake = () => (loop.wake ? loop.wake() : (loop.woken = true));
  execute(reg, c.workflowID, deserialize<unknown[]>(c.inputs) ?? [], c.attempt, c.attempt === 1).then(wake, wake);
}

/** The queue's PENDING workflows whose owner is gone go back to ENQUEUED, to be claimed under the limits. */
async function requeueOrphans(q: WorkflowQueue): Promise<void> {
  const seen = new Map<string, Promise<ExecutorStatus | undefined>>(); // one read per executor, however many rows it owns
  for (const row of await db().listQueueRows(q.name, ['PENDING'])) await requeueIfOrphaned(row, seen);
}

/**
 * A queued PENDING workflow whose owner is gone goes back to ENQUEUED instead of being run by
 * whoever found it (the engine's recovery and getResult call this for queued rows): taken over
 * that way, it would run outside its queue's limits. Returns true when this call requeued it.
 */
export async function requeueIfOrphaned(row: WorkflowRow, seen?: Map<string, Promise<ExecutorStatus | undefined>>): Promise<boolean> {
  if (row.status !== 'PENDING' || (await ownerAlive(row, seen))) return false;
  const done = await db().requeueWorkflow(row.workflowID, row.executorID, row.recoveryAttempts, Date.now());
  if (done) log.info(`workflow ${row.workflowID} (${row.name}): its worker ${row.executorID ?? '(none)'} is gone, back to ENQUEUED on queue ${row.queueName}`);
  return done;
}
