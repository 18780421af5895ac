// What `wf` and the timeline page (lib/ui/) both do to a workflow: read its recorded error, resume it,
// cancel it. Each checks the row first and says what it did, or why not, with the fix; the CLI
// (scripts/wf.ts) and the page's buttons print the same sentences.
import { ConfigError } from '../errors.js';
import { printable } from '../printable.js';
import { deserialize, type RecordedError } from '../serialize.js';
import { isUnfinished, UNFINISHED, type SystemDatabase, type WorkflowRow } from '../storage/types.js';
import { checkVersion } from '../versions/version.js';

/** Where a command prints (stdout for the CLI, an array in the tests). */
export type Out = (text: string) => void;
/** The command line of another wf command on the same database: `again('steps', id)` (the --app and --pg it needs too). */
export type Again = (command: string, id: string) => string;

/** The recorded error's message and each attempt's error (an exhausted retry keeps them all), printable. */
export function errorLines(text: string): string[] {
  const rec = deserialize<RecordedError>(text);
  if (!rec.errors?.length) return [printable(`${rec.name}: ${rec.message}`)];
  return [`${rec.name}: ${rec.message.split(' Previous errors:')[0]}`, ...rec.errors.map((e, i) => `  attempt ${i + 1}: ${e.name}: ${e.message}`)].map(printable);
}

export async function mustGet(sys: SystemDatabase, id: string | undefined, command: string): Promise<WorkflowRow> {
  if (!id) throw new ConfigError(`wf ${command} needs a workflow id: npm run wf -- ${command} <id> (npm run wf -- list shows them).`);
  const row = await sys.getWorkflow(id);
  if (!row) throw new ConfigError(`no workflow with id ${printable(id)} in ${sys.description}. Check the id and the database (npm run wf -- list shows the ids; --app picks the application).`);
  return row;
}

export async function resume(sys: SystemDatabase, id: string | undefined, o: { version?: string }, out: Out, again: Again): Promise<void> {
  const raw = await mustGet(sys, id, 'resume');
  const w = { ...raw, workflowID: printable(raw.workflowID), applicationID: raw.applicationID && printable(raw.applicationID) };
  if (o.version !== undefined) {
    const to = checkVersion(o.version, '--version');
    if (!(await sys.moveToVersion(raw.workflowID, to))) throw new ConfigError(`workflow ${w.workflowID} has finished (${w.status}): its version stays as it ran; --version moves an unfinished, CANCELLED or parked workflow.`);
    out(`workflow ${w.workflowID} moved from application version ${printable(String(raw.applicationVersion))} to ${printable(to)}: a live process of version ${printable(to)} recovers it ` +
      `(within its recovery interval, or at its next start), replaying its recorded steps with its code; a step it calls under another name at a recorded function id fails the workflow (promise 4).`);
    if (isUnfinished(w.status)) return;
  }
  if (isUnfinished(w.status)) {
    return void out(`workflow ${w.workflowID} is already ${w.status}: its application recovers it at its next start (if its process is gone).`);
  }
  if (w.status !== 'CANCELLED' && w.status !== 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') {
    throw new ConfigError(`workflow ${w.workflowID} has finished (${w.status}): resume runs a CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflow again; a finished one has nothing left to run.`);
  }
  if (!(await sys.setStatus(raw.workflowID, 'PENDING', [w.status], { now: Date.now(), resetAttempts: true }))) {
    throw new ConfigError(`workflow ${w.workflowID} changed while we looked (it is no longer ${w.status}): run ${again('get', raw.workflowID)} and try again.`);
  }
  out(`workflow ${w.workflowID} is PENDING again (was ${w.status}), its recovery count reset to 0. ` +
    `Its application (${w.applicationID}) runs it at its next start: DBOS.launch() recovers it, replaying its ${(await sys.loadOperations(raw.workflowID)).length} recorded step(s).`);
}

export async function cancel(sys: SystemDatabase, id: string | undefined, out: Out, again: Again): Promise<void> {
  const raw = await mustGet(sys, id, 'cancel');
  const w = { ...raw, workflowID: printable(raw.workflowID) };
  if (w.status === 'CANCELLED') return void out(`workflow ${w.workflowID} is already CANCELLED.`);
  if (!isUnfinished(w.status)) {
    throw new ConfigError(`workflow ${w.workflowID} has finished (${w.status}): there is nothing to cancel. Cancel works on PENDING or ENQUEUED workflows.`);
  }
  if (!(await sys.setStatus(raw.workflowID, 'CANCELLED', UNFINISHED, { now: Date.now() }))) {
    throw new ConfigError(`workflow ${w.workflowID} finished while we looked: there is nothing to cancel now (${again('get', raw.workflowID)}).`);
  }
  out(`workflow ${w.workflowID} is CANCELLED: a process running it starts no further step (a step already running finishes, but its outcome is not recorded and it runs again on resume), and recovery leaves it alone. ${again('resume', raw.workflowID)} runs it again.`);
}

