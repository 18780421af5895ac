// Enqueueing: the row is written ENQUEUED and the caller gets the workflow's id at once; a worker
// that serves the queue (worker.ts) runs it later. Used by DBOS.startWorkflow with a queueName and
// by DBOSClient.enqueue (client.ts), which has no workflow code at all.
import { randomUUID } from 'node:crypto';
import { currentContext } from '../context.js';
import { WorkflowHandle } from '../handle.js';
import { ConfigError, WorkflowConflictError } from '../errors.js';
import { serialize } from '../serialize.js';
import { db, state, type WorkflowRegistration } from '../state.js';
import type { SystemDatabase } from '../storage/types.js';
import { DBOSInvalidQueuePriorityError, DBOSQueueDuplicatedError, MAX_PRIORITY, MIN_PRIORITY } from './errors.js';
import { queueNamed } from './queue.js';

/** DBOS's enqueueOptions (dbos-transact-ts src/system_database.ts EnqueueOptions), the parts we have. */
export interface EnqueueOptions {
  /** while a workflow with this id is unfinished on the queue, another enqueue with it is refused (DBOSQueueDuplicatedError) */
  deduplicationID?: string;
  /** lower runs first, 0 to 2^31-1 (default 0) */
  priority?: number;
}

export interface StartWorkflowOptions {
  workflowID?: string;
  /** enqueue instead of starting here: the row waits ENQUEUED until a worker serving the queue claims it */
  queueName?: string;
  enqueueOptions?: EnqueueOptions;
}

export interface EnqueueRequest extends EnqueueOptions {
  queueName: string;
  workflowName: string;
  workflowID?: string;
  applicationID: string | null;
  applicationVersion: string | null;
}

/** Writes the ENQUEUED row (idempotent by workflow id) and returns the workflow's id. */
export async function enqueueRow(db: SystemDatabase, r: EnqueueRequest, args: unknown[]): Promise<string> {
  const priority = r.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) throw new DBOSInvalidQueuePriorityError(priority);
  if (r.deduplicationID !== undefined && (typeof r.deduplicationID !== 'string' || r.deduplicationID === ''))
    throw new ConfigError(`deduplicationID must be a non-empty string (got ${JSON.stringify(r.deduplicationID)}).`);
  const workflowID = r.workflowID ?? randomUUID();
  const got = await db.enqueueWorkflow({
    workflowID, name: r.workflowName, inputs: serialize(args, `the inputs of workflow ${r.workflowName}`),
    applicationID: r.applicationID, applicationVersion: r.applicationVersion, queueName: r.queueName,
    deduplicationID: r.deduplicationID ?? null, priority, now: Date.now(),
  });
  if (got.kind === 'duplicate') throw new DBOSQueueDuplicatedError(workflowID, r.queueName, r.deduplicationID ?? '', got.row.workflowID);
  if (got.row.name !== r.workflowName) throw new WorkflowConflictError(workflowID, got.row.name, r.workflowName);
  return workflowID;
}

/** DBOS.startWorkflow(wf, { queueName, ... })(...args), in a launched process. */
export async function enqueueRegistered<R>(reg: WorkflowRegistration, opts: StartWorkflowOptions, args: unknown[]): Promise<WorkflowHandle<R>> {
  queueNamed(opts.queueName);
  const ctx = currentContext();
  if (ctx) throw new ConfigError(`Enqueueing workflow ${reg.name} from inside workflow ${ctx.workflowID} is not supported here yet: enqueue from outside a workflow, or start it as a child (DBOS.startWorkflow without queueName).`);
  const id = await enqueueRow(db(), {
    queueName: opts.queueName!, workflowName: reg.name, workflowID: opts.workflowID, applicationID: state.appName,
    applicationVersion: state.applicationVersion, ...opts.enqueueOptions,
  }, args);
  return new WorkflowHandle<R>(id);
}

/** enqueueOptions only mean something with a queue (DBOS refuses them too). */
export function checkStartOptions(opts: StartWorkflowOptions): void {
  const set = Object.entries(opts.enqueueOptions ?? {}).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (opts.queueName === undefined && set.length)
    throw new ConfigError(`Enqueue option(s) ${set.join(', ')} set on a workflow that is not being enqueued: add queueName, or drop them.`);
}
