// The queues' errors, named and numbered as DBOS Transact names them (dbos-transact-ts src/error.ts:
// QueueDedupIDDuplicated = 28, InvalidQueuePriority = 29), so code written against DBOS catches ours.
import { WorkbookError } from '../errors.js';

/** The deduplication id is held on this queue by a workflow that has not finished yet. */
export class DBOSQueueDuplicatedError extends WorkbookError {
  readonly dbosErrorCode = 28;
  constructor(
    readonly workflowID: string,
    readonly queue: string,
    readonly deduplicationID: string,
    readonly holderID: string,
  ) {
    super(
      'QUEUE_DUPLICATED',
      `Workflow ${workflowID} was deduplicated due to an existing workflow in queue ${queue} with deduplication ID ` +
        `${deduplicationID} (workflow ${holderID}, still unfinished). Wait for it (DBOS.retrieveWorkflow("${holderID}")), ` +
        'or enqueue again once it has ended: the id frees then.',
    );
    this.name = 'DBOSQueueDuplicatedError';
  }
}

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 2 ** 31 - 1;

export class DBOSInvalidQueuePriorityError extends WorkbookError {
  readonly dbosErrorCode = 29;
  constructor(readonly priority: unknown) {
    super(
      'QUEUE_PRIORITY',
      `Invalid priority ${String(priority)}. Priority must be a whole number between ${MIN_PRIORITY} and ${MAX_PRIORITY} (lower runs first, default 0).`,
    );
    this.name = 'DBOSInvalidQueuePriorityError';
  }
}
