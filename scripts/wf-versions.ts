/**
 * npm run wf -- versions [--app NAME] [--json]
 * ============================================
 * Per application version: the unfinished workflows (PENDING, ENQUEUED) and the live executors
 * that serve that version. A process recovers and dequeues only its own version's workflows
 * (docs/DESIGN.md promise 11), so unfinished work of a version that no live executor serves waits
 * for one, silently: this says so, plainly (STRANDED), with the two ways out. Opens the database
 * as wf does (lib/config.ts), without recovering anything.
 */
import Table from 'cli-table3';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkAppName, databaseFromEnv } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { printable } from '../lib/printable.js';
import { withDatabase } from '../lib/storage/open.js';
import { UNFINISHED, type SystemDatabase } from '../lib/storage/types.js';
import { seemsLive } from '../lib/wf/queues.js';

type Out = (text: string) => void;

export interface VersionSummary {
  /** null: enqueued by a client without appVersion, any version's worker takes it */
  version: string | null;
  pending: number;
  enqueued: number;
  /** a few of the unfinished workflows' ids, oldest first */
  workflowIDs: string[];
  liveExecutors: string[];
  /** unfinished work and no live executor of its version: nothing runs it until one starts, or it is moved */
  stranded: boolean;
}

export async function summarizeVersions(db: SystemDatabase, app: string | undefined): Promise<VersionSummary[]> {
  const rows = await db.listWorkflows({ status: UNFINISHED, applicationID: app });
  const live = (await db.listExecutors()).filter(seemsLive);
  const versions = new Set<string | null>([...rows.map((r) => r.applicationVersion), ...live.map((e) => e.applicationVersion).filter((v) => v !== null)]);
  return [...versions].sort((x, y) => String(x).localeCompare(String(y))).map((version) => {
    const mine = rows.filter((r) => r.applicationVersion === version);
    const serving = live.filter((e) => e.applicationVersion === version).map((e) => e.executorID);
    // A row without a version is anyone's: any live executor serves it.
    const liveExecutors = version === null ? live.map((e) => e.executorID) : serving;
    return {
      version, pending: mine.filter((r) => r.status === 'PENDING').length, enqueued: mine.filter((r) => r.status === 'ENQUEUED').length,
      workflowIDs: mine.slice(0, 5).map((r) => r.workflowID), liveExecutors, stranded: mine.length > 0 && liveExecutors.length === 0,
    };
  });
}

export async function wfVersions(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<void> {
  const { values: o, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { app: { type: 'string' }, json: { type: 'boolean' }, pg: { type: 'boolean' }, sqlite: { type: 'boolean' } },
  });
  if (positionals.length) throw new ConfigError(`wf versions takes no argument (got: ${positionals.join(' ')}): npm run wf -- versions [--app NAME] [--json].`);
  if (o.app) checkAppName(o.app);
  const choice = databaseFromEnv(o.app ?? 'wf', env, argv);
  if (choice.kind === 'sqlite' && ((!o.app && !env.WORKBOOK_SQLITE_FILE) || !existsSync(choice.file))) {
    throw new ConfigError(`wf versions needs an existing database: pass --app NAME for data/NAME.db (e.g. --app ex8, after running experiments/ex8.ts), or set WORKBOOK_SQLITE_FILE (${choice.file} does not exist).`);
  }
  await withDatabase(choice, o.app ?? 'public', `workbook-wf-${process.pid}`, async (db) => {
    const all = await summarizeVersions(db, o.app);
    if (o.json) return void out(JSON.stringify(all, null, 2));
    if (!all.length) return void out('no unfinished workflows and no live executor: nothing waits for any version.');
    const t = new Table({ head: ['application version', 'PENDING', 'ENQUEUED', 'live executors'], style: { head: [], border: [] } });
    for (const v of all) t.push([v.version === null ? '(none: any version)' : printable(v.version), v.pending, v.enqueued, v.liveExecutors.map(printable).join('\n') || 'none']);
    out(t.toString());
    const serving = all.filter((v) => v.version !== null && v.liveExecutors.length).map((v) => v.version!);
    for (const v of all.filter((x) => x.stranded)) {
      const ids = v.workflowIDs.map(printable).join(', ');
      out(`STRANDED: ${v.pending + v.enqueued} unfinished workflow(s) of version ${printable(String(v.version))} (${v.pending} PENDING, ${v.enqueued} ENQUEUED; ${ids}${v.pending + v.enqueued > v.workflowIDs.length ? ', ...' : ''}) ` +
        `and no live executor serves that version${serving.length ? ` (live executors serve: ${serving.map(printable).join(', ')})` : ' (no executor is live at all)'}. ` +
        `Nothing runs them and nothing says so: a process recovers and dequeues only its own version's work. Nothing is lost: start a process of version ${printable(String(v.version))} ` +
        `(the same code, or DBOS__APPVERSION=${printable(String(v.version))}), or move one to a running version on purpose: npm run wf -- resume ID --version VERSION` +
        `${o.app ? ` --app ${o.app}` : ''} (README: when that is safe).`);
    }
  });
}
