// The engine's side of application versions: which workflows this process may take (recovery,
// getResult's takeover, a resume without a target version) and what launch() says about the others.
// The version each executor serves goes with its heartbeat (lib/launch.ts, the executors table).
import { log } from '../log.js';
import { state } from '../state.js';
import type { WorkflowRow } from '../storage/types.js';
import type { VersionSource } from './version.js';

/** Where this process's version came from (set by launch()). */
export const versionInfo = { source: 'hash' as VersionSource };

/**
 * May this process run this workflow? Only one of its own version (promise 11). A row without a
 * version (a client that enqueued without appVersion) is anyone's, and takes the version of the
 * worker that claims it.
 */
export function servesVersion(row: Pick<WorkflowRow, 'applicationVersion'>): boolean {
  return row.applicationVersion === null || row.applicationVersion === state.applicationVersion;
}

const short = (v: string) => (/^[0-9a-f]{32}$/.test(v) ? `${v.slice(0, 12)}...` : v);

/** How this process's version was chosen, in words. */
export function describeOwnVersion(): string {
  const how = { config: 'applicationVersion in DBOS.setConfig', DBOS__APPVERSION: 'DBOS__APPVERSION', hash: 'the hash of the registered workflows\' code' }[versionInfo.source];
  return `application version ${state.applicationVersion} (from ${how})`;
}

/**
 * launch() says once what it left alone: DBOS's line ("No workflows to recover from application
 * version ..."), then how many unfinished workflows of other versions wait, of which versions, and
 * what to do about them. Quiet (debug) when there are none.
 */
export function logLeftAlone(recovered: number, others: { workflowID: string; applicationVersion: string }[]): void {
  const line = recovered ? `Recovering ${recovered} workflows from application version ${state.applicationVersion}` : `No workflows to recover from application version ${state.applicationVersion}`;
  if (!others.length) return log.debug(line);
  log.info(line);
  const byVersion = new Map<string, number>();
  for (const o of others) byVersion.set(o.applicationVersion, (byVersion.get(o.applicationVersion) ?? 0) + 1);
  const list = [...byVersion].map(([v, n]) => `${n} of version ${short(v)}`).join(', ');
  log.warn(`launch() left alone ${others.length} unfinished workflow(s) of other application versions (${list}); this process serves ${describeOwnVersion()}. ` +
    `Only a process of their version recovers them: \`npm run wf -- versions --app ${state.appName}\` shows whether one is alive. ` +
    `If their code did not change in a way that breaks replay, move one here on purpose: DBOS.resumeWorkflow(id, { applicationVersion: DBOS.applicationVersion }) ` +
    `or \`npm run wf -- resume ID --version ${state.applicationVersion}\`.`);
}

/** A resume without a target version of another version's workflow: say where it will run (not here). */
export function noteOtherVersion(row: WorkflowRow): void {
  if (servesVersion(row)) return;
  log.warn(`workflow ${row.workflowID} is of application version ${row.applicationVersion}; this process serves ${state.applicationVersion}: ` +
    `it is left to a process of its version. To run it here, resume it with { applicationVersion: DBOS.applicationVersion } (README: when that is safe).`);
}
