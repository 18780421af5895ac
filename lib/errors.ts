// Every error the workbook throws on purpose. Each one takes facts (ids, names, values), builds a
// message that names the problem and ends with the fix, and keeps the original error as `cause`.
// Messages never contain a password: URLs pass through redactUrl() before they get here, and the
// base class masks whatever connection string or known password is left (lib/redact.ts).
import { redactText } from './redact.js';

export class WorkbookError extends Error {
  constructor(
    /** a stable code a test or a script can match on */
    readonly code: string,
    message: string,
    /** redacted: the message was built from masked parts and holds an example URL that must stay readable */
    options?: { cause?: unknown; redacted?: boolean },
  ) {
    super(options?.redacted ? message : redactText(message), options);
    this.name = new.target.name;
  }
}

/** Bad configuration: an option, an environment variable, a flag. */
export class ConfigError extends WorkbookError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/** DATABASE_URL (or another database location) cannot be used as given. */
export class DatabaseUrlError extends WorkbookError {
  constructor(redactedUrl: string, problem: string) {
    super(
      'DATABASE_URL',
      `DATABASE_URL ${redactedUrl} is not usable: ${problem}. ` +
        'Expected postgres://user:password@host:5432/database; unset DATABASE_URL to use SQLite.',
      { redacted: true }, // the URL came masked; the example must keep its "user:password"
    );
  }
}

/** The database is there but we cannot open, reach or log in to it. */
export class DatabaseConnectionError extends WorkbookError {
  constructor(where: string, problem: string, fix: string, cause?: unknown) {
    super('DB_CONNECT', `cannot use the database at ${where}: ${problem}. ${fix}`, { cause });
  }
}

/** A step result, workflow input or output that SuperJSON (DBOS's format) would silently change. */
export class NotSerializableError extends WorkbookError {
  constructor(what: string, path: string, problem: string) {
    super(
      'NOT_SERIALIZABLE',
      `${what} cannot be stored: ${problem} at ${path}, which the stored value (SuperJSON, as DBOS) would silently drop. ` +
        'Return data (strings, numbers, booleans, null, Dates, arrays, Maps, Sets, plain objects): ' +
        'drop functions and symbols, or store a name that stands for them.',
    );
  }
}

// The errors DBOS Transact throws for the same failures carry its class names, its texts (a fix
// sentence of ours may follow) and its numeric `dbosErrorCode` (dbos-sdk src/error.ts).

/** Promise 4: the step found at a function id is not the one recorded there. */
export class DBOSUnexpectedStepError extends WorkbookError {
  readonly dbosErrorCode = 26;
  constructor(
    readonly workflowID: string,
    readonly functionID: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(
      'NONDETERMINISTIC',
      `During execution of workflow ${workflowID} step ${functionID}, function ${expected} was recorded when ${found} ` +
        'was expected. Check that your workflow is deterministic: the code between steps must call the same steps in ' +
        'the same order on every run (a renamed step counts as another step).',
    );
  }
}

/** A PENDING workflow whose name no longer exists in the code, found at recovery. */
export class WorkflowNotRegisteredError extends WorkbookError {
  constructor(
    readonly workflowID: string,
    readonly workflowName: string,
    known: string[],
  ) {
    super(
      'NOT_REGISTERED',
      `Workflow ${workflowID} is PENDING under the name "${workflowName}", but no workflow of that name is ` +
        `registered (known: ${known.length ? known.join(', ') : 'none'}). It was left PENDING, nothing is lost. ` +
        'Register it again under its old name to recover it, or cancel it (DBOS.cancelWorkflow).',
    );
  }
}

/** No workflow has this id. */
export class DBOSNonExistentWorkflowError extends WorkbookError {
  readonly dbosErrorCode = 16;
  constructor(readonly workflowID: string) {
    super('NOT_FOUND', `Workflow ${workflowID} does not exist. Check the id (DBOS.listWorkflows shows them).`);
  }
}

/** Two different workflows asked for the same workflow id. */
export class DBOSConflictingWorkflowError extends WorkbookError {
  readonly dbosErrorCode = 22;
  constructor(workflowID: string, recordedName: string, requestedName: string) {
    super(
      'ID_CONFLICT',
      `Conflicting workflow invocation with the same ID (${workflowID}): it belongs to workflow "${recordedName}", not "${requestedName}". ` +
        'Use another workflow id, or start the workflow it belongs to.',
    );
  }
}

/** Promise 5: a step ran out of attempts. Keeps every attempt's error; DBOS's exact text. */
export class DBOSMaxStepRetriesError extends WorkbookError {
  readonly dbosErrorCode = 23;
  constructor(
    readonly stepName: string,
    readonly maxAttempts: number,
    readonly errors: Error[],
  ) {
    super(
      'MAX_STEP_RETRIES',
      `Step ${stepName} has exceeded its maximum of ${maxAttempts} retries. Previous errors: ` +
        errors.map((e, i) => `Error ${i + 1}: ${e.message}`).join('. '),
    );
  }
}

/** Promise 6: the dead letter. */
export class DBOSMaxRecoveryAttemptsExceededError extends WorkbookError {
  readonly dbosErrorCode = 18;
  constructor(
    readonly workflowID: string,
    readonly maxRecoveryAttempts: number,
  ) {
    super(
      'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
      `Workflow ${workflowID} has exceeded its maximum of ${maxRecoveryAttempts} execution or recovery attempts. ` +
        'Further attempts to execute or recover it will fail. Find out why it keeps dying, then resume it on ' +
        `purpose: DBOS.resumeWorkflow("${workflowID}").`,
    );
  }
}

/** What whoever awaits a parked workflow (the dead letter) gets from getResult(). */
export class DBOSAwaitedWorkflowExceededMaxRecoveryAttempts extends WorkbookError {
  readonly dbosErrorCode = 30;
  constructor(readonly workflowID: string) {
    super(
      'MAX_RECOVERY_ATTEMPTS_EXCEEDED',
      `Awaited ${workflowID} exceeded its maximum recovery attempts. Find out why it keeps dying, then resume it on purpose: ` +
        `DBOS.resumeWorkflow("${workflowID}").`,
    );
  }
}

/** Inside the cancelled workflow: it stops at its next step. */
export class DBOSWorkflowCancelledError extends WorkbookError {
  readonly dbosErrorCode = 24;
  constructor(readonly workflowID: string) {
    super('CANCELLED', `Workflow ${workflowID} has been cancelled. Resume it with DBOS.resumeWorkflow to run it again.`);
  }
}

/** What whoever awaits a cancelled workflow gets from getResult(). */
export class DBOSAwaitedWorkflowCancelledError extends WorkbookError {
  readonly dbosErrorCode = 27;
  constructor(readonly workflowID: string) {
    super('CANCELLED', `Awaited ${workflowID} was cancelled. Resume it with DBOS.resumeWorkflow to run it again.`);
  }
}

// The names this workbook used before it took DBOS's: code written against them still works.
export { DBOSUnexpectedStepError as UnexpectedStepError, DBOSNonExistentWorkflowError as WorkflowNotFoundError };
export { DBOSConflictingWorkflowError as WorkflowConflictError, DBOSMaxStepRetriesError as MaxStepRetriesError };
export { DBOSMaxRecoveryAttemptsExceededError as MaxRecoveryAttemptsExceededError, DBOSWorkflowCancelledError as WorkflowCancelledError };

/**
 * Internal control flow: another execution now owns this workflow (it was recovered elsewhere, or
 * cancelled and resumed), so this one must stop without writing anything. As a user you should
 * never see this: getResult() waits for the owner's outcome instead.
 */
export class WorkflowFencedError extends WorkbookError {
  constructor(readonly workflowID: string) {
    super('FENCED', `Workflow ${workflowID} is now executed elsewhere; this execution stopped without writing.`);
  }
}

/** A failure injected on purpose by lib/faults.ts. */
export class InjectedFailure extends WorkbookError {
  constructor(site: string, seed: number) {
    super('INJECTED', `Simulated failure at ${site} (seed=${seed})`);
  }
}

/**
 * The system database stayed away (connection lost or refused, server restarting, lock held by
 * another process, disk full) for longer than the engine retries. The workflow's outcome was not
 * decided by it: the workflow stays PENDING and runs again when the database is back.
 */
export class DatabaseUnavailableError extends WorkbookError {
  constructor(
    readonly operation: string,
    readonly retriedMs: number,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'DB_UNAVAILABLE',
      `The system database was unavailable at ${operation} (${why}); retried for ${(retriedMs / 1000).toFixed(1)} s. ` +
        'Nothing was recorded by this attempt and no workflow outcome was decided by it: a workflow it was part of stays PENDING ' +
        'and runs again once the database answers (recovery looks every few seconds). Check that the server is up, the disk has room, ' +
        'and no other process holds a long write lock; WORKBOOK_DB_RETRY_MS sets how long the engine retries.',
      { cause },
    );
  }
}

/** A workflow_status row the engine cannot read (hand-edited, or written by something else). It is left as it is. */
export class DamagedRowError extends WorkbookError {
  constructor(
    readonly workflowID: string,
    readonly column: string,
    problem: string,
    fix: string,
  ) {
    super('DAMAGED_ROW', `Workflow ${workflowID} cannot be read: its ${column} column ${problem}. It was left as it is; other workflows are not affected. ${fix}`);
  }
}

/** A workflow id that cannot be stored the same way on both databases. */
export class InvalidWorkflowIDError extends ConfigError {
  constructor(problem: string) {
    super(`This workflow id cannot be used: ${problem}. Use an id of printable text of at most ${MAX_WORKFLOW_ID_BYTES} bytes (a UUID, or "order-42").`);
  }
}

/** The longest workflow id, in UTF-8 bytes: PostgreSQL cannot index a much longer key (btree rows stop near 2.7 KB). */
export const MAX_WORKFLOW_ID_BYTES = 1024;
