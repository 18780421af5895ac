// Recovery (promise 6), at launch and then every few seconds while the process runs: a PENDING
// workflow whose owner is gone is taken over here, one more recovery attempt. "Gone" includes this
// process's own executions that stopped because the system database went away (nothing runs them
// here any more), and a previous process on this host whose pid we now have. A row that cannot be
// read, or a workflow whose name is not registered, is named once and left alone.
import { claim } from './claim.js';
import { DamagedRowError, WorkflowNotRegisteredError } from './errors.js';
import { log } from './log.js';
import { db, ownerAlive, state } from './state.js';
import { servesVersion } from './versions/serve.js';
import { UNFINISHED, type ExecutorStatus } from './storage/types.js';

/** What a recovery pass found: recovered here, parked as dead letters, left to a live owner, unknown names, damaged rows. */
export interface RecoveryReport {
  /** ids of the workflows taken over here (dbos.ts turns them into handles) */
  recovered: string[];
  parked: string[];
  ownedElsewhere: string[];
  unknown: WorkflowNotRegisteredError[];
  damaged: DamagedRowError[];
  /** unfinished workflows of other application versions, left to a process of their version (promise 11) */
  otherVersions: { workflowID: string; applicationVersion: string }[];
}

/** Taken over by the background pass since the last recoverPendingWorkflows() call: it reports them too. */
let background: string[] = [];
/** Named once per process, not on every pass. */
const warned = new Set<string>();

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(message);
}

/** One pass over the application's unfinished workflows, oldest first. */
export async function recoverPending(): Promise<RecoveryReport> {
  const report: RecoveryReport = { recovered: background, parked: [], ownedElsewhere: [], unknown: [], damaged: [], otherVersions: [] };
  background = [];
  const rows = await db().listWorkflows({ status: UNFINISHED, applicationID: state.appName });
  const executors = new Map<string, Promise<ExecutorStatus | undefined>>();
  for (const row of rows) {
    if (state.running.has(row.workflowID)) continue;
    if (!servesVersion(row)) {
      report.otherVersions.push({ workflowID: row.workflowID, applicationVersion: row.applicationVersion! });
      continue;
    }
    const reg = state.workflows.get(row.name);
    if (!reg) {
      const err = new WorkflowNotRegisteredError(row.workflowID, row.name, [...state.workflows.keys()]);
      warnOnce(`unknown ${row.workflowID}`, err.message);
      report.unknown.push(err);
      continue;
    }
    try {
      if (await ownerAlive(row, executors)) {
        report.ownedElsewhere.push(row.workflowID);
        continue;
      }
      const got = await claim(reg, row);
      if (got === 'parked') report.parked.push(row.workflowID);
      if (got === 'claimed') report.recovered.push(row.workflowID);
    } catch (err) {
      if (!(err instanceof DamagedRowError)) throw err;
      warnOnce(`damaged ${row.workflowID}`, err.message);
      report.damaged.push(err);
    }
  }
  return report;
}

let timer: NodeJS.Timeout | undefined;
let passing: Promise<void> | undefined;

/** Starts the background pass (every state.recoveryIntervalMs; 0 turns it off). */
export function startRecoveryLoop(): void {
  clearInterval(timer);
  if (!(state.recoveryIntervalMs > 0)) return;
  timer = setInterval(() => {
    if (passing || !state.db) return; // one pass at a time; a slow database does not pile them up
    passing = recoverPending()
      .then((r) => void background.push(...r.recovered))
      .catch((err) => log.warn(`background recovery pass failed (it tries again in ${state.recoveryIntervalMs} ms): ${(err as Error).message}`))
      .finally(() => (passing = undefined));
  }, state.recoveryIntervalMs);
  timer.unref();
}

/** Stops the background pass and waits for one in flight. */
export async function stopRecoveryLoop(): Promise<void> {
  clearInterval(timer);
  timer = undefined;
  await passing;
  background = [];
}
