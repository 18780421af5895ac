// Taking over a workflow whose owner died (promise 6 of docs/DESIGN.md): one more recovery attempt
// by a compare-and-set on its row, or the dead letter past the maximum. A process claims a workflow
// once at a time (the `claiming` set, which startWorkflow in lib/engine.ts also holds from its insert
// to its execution): between the compare-and-set and the execution the row already names this
// executor while nothing runs here yet, and a second caller would take it for an orphan (test/61).
// DBOS.resumeWorkflow runs a cancelled or parked workflow again through the same claim.
import { readDamaged } from './damaged.js';
import { execute } from './engine.js';
import { MaxRecoveryAttemptsExceededError, WorkflowNotFoundError, WorkflowNotRegisteredError } from './errors.js';
import { log } from './log.js';
import { requeueIfOrphaned } from './queues/worker.js';
import { deserialize } from './serialize.js';
import { db, ownerAlive, state, type WorkflowRegistration } from './state.js';
import { isUnfinished, type WorkflowRow } from './storage/types.js';
import { noteOtherVersion, servesVersion } from './versions/serve.js';
import { checkVersion } from './versions/version.js';

/**
 * Takes a PENDING workflow whose owner is gone and runs it here (promise 6): one more recovery
 * attempt, or the dead letter past the maximum. Returns null when another process got it first,
 * or when this process is already claiming or running it.
 */
export async function claim(reg: WorkflowRegistration, row: WorkflowRow): Promise<'parked' | 'claimed' | null> {
  // Between our compare-and-set and execute() below, the row already names this executor while
  // nothing runs here yet: another caller in this process (getResult, attach, launch) would take
  // that for an orphan and claim it again, running it twice at once. So one claim per workflow at a time.
  if (state.running.has(row.workflowID) || claiming.has(row.workflowID)) return null;
  // A queued workflow goes back to its queue instead, so that its limits decide who runs it (promise 10).
  if (row.queueName) return (await requeueIfOrphaned(row), null);
  // Another application version's workflow is left to a process of that version (promise 11).
  if (!servesVersion(row)) return null;
  claiming.add(row.workflowID);
  try {
    return await claimNow(reg, row);
  } finally {
    claiming.delete(row.workflowID);
  }
}

/** Workflows this process is claiming, or starting (lib/engine.ts), right now: claim() leaves them alone. */
export const claiming = new Set<string>();

async function claimNow(reg: WorkflowRegistration, row: WorkflowRow): Promise<'parked' | 'claimed' | null> {
  // A row that cannot be read is named and left alone, before a recovery attempt is spent on it.
  const args = readDamaged(row, 'inputs', (t) => deserialize<unknown[]>(t) ?? []);
  const attempt = await db().claimWorkflow(row.workflowID, row.recoveryAttempts, state.executorID, Date.now());
  if (attempt === null) return null;
  if (attempt > reg.maxRecoveryAttempts + 1) {
    await db().setStatus(row.workflowID, 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', ['PENDING'], { now: Date.now(), fence: { executorID: state.executorID, attempt } });
    log.warn(new MaxRecoveryAttemptsExceededError(row.workflowID, reg.maxRecoveryAttempts).message);
    return 'parked';
  }
  log.info(`workflow ${row.workflowID} (${reg.name}): recovering, execution attempt ${attempt} of at most ${reg.maxRecoveryAttempts + 1}`);
  execute(reg, row.workflowID, args, attempt, false);
  return 'claimed';
}

/** Runs a PENDING workflow here if its owner is gone (not running here, its process dead or silent); else leaves it. */
export async function takeOverIfOrphaned(reg: WorkflowRegistration, row: WorkflowRow): Promise<'parked' | 'claimed' | null> {
  if (!isUnfinished(row.status) || state.running.has(row.workflowID)) return null;
  return (await ownerAlive(row)) ? null : claim(reg, row);
}

/**
 * DBOS.resumeWorkflow's work: a cancelled or parked workflow runs again here, on purpose, its recovery
 * count reset; with `applicationVersion` it is first restamped with that version (lib/versions/).
 */
export async function resume(workflowID: string, options: { applicationVersion?: string }): Promise<void> {
  // The move changes nothing of a workflow that is not there: the read after it says which.
  const to = options.applicationVersion === undefined ? undefined : checkVersion(options.applicationVersion, 'resumeWorkflow\'s applicationVersion');
  const moved = to !== undefined && (await db().moveToVersion(workflowID, to));
  const row = await db().getWorkflow(workflowID);
  if (!row) throw new WorkflowNotFoundError(workflowID);
  if (to !== undefined && !moved) log.warn(`workflow ${workflowID} has finished: its application version stays as it ran`);
  const reg = state.workflows.get(row.name);
  if (!reg) throw new WorkflowNotRegisteredError(workflowID, row.name, [...state.workflows.keys()]);
  noteOtherVersion(row);
  if (row.status === 'CANCELLED' || row.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') {
    const reset = await db().setStatus(workflowID, 'PENDING', [row.status], { now: Date.now(), resetAttempts: true });
    if (reset) {
      await claim(reg, { ...row, status: 'PENDING', recoveryAttempts: 0, executorID: null });
    } else {
      // Someone else changed it first (resumed it, maybe already runs it): take it only if its owner is gone.
      const now = await db().getWorkflow(workflowID);
      if (now) await takeOverIfOrphaned(reg, now);
    }
  } else {
    await takeOverIfOrphaned(reg, row);
  }
}
