/**
 * npm run wf -- schedules [list|pause <name>|resume <name>] [--app NAME] [--json]
 * ===========================================================================
 * The cron schedules of workflow_schedules (lib/schedules): list them (name, cron, status,
 * workflow, last slot fired, backfill), or pause / resume one. A paused schedule fires no slot;
 * each scheduler process sees the change within a second. Opens the database as wf does (lib/config.ts),
 * without recovering anything.
 */
import Table from 'cli-table3';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkAppName, databaseFromEnv } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { withDatabase } from '../lib/storage/open.js';

type Out = (text: string) => void;
const USAGE = 'usage: npm run wf -- schedules [list | pause <name> | resume <name>] [--app NAME] [--json] [--pg|--sqlite]';

export async function wfSchedules(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<void> {
  const { values: o, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { app: { type: 'string' }, json: { type: 'boolean' }, pg: { type: 'boolean' }, sqlite: { type: 'boolean' } },
  });
  const [command = 'list', name, ...extra] = positionals;
  if (!['list', 'pause', 'resume'].includes(command)) throw new ConfigError(`"schedules ${command}" is not a command: use list, pause <name> or resume <name>. ${USAGE}`);
  if (command !== 'list' && !name) throw new ConfigError(`schedules ${command} needs a schedule name (npm run wf -- schedules lists them). ${USAGE}`);
  if (extra.length || (command === 'list' && name)) throw new ConfigError(`too many arguments: ${positionals.join(' ')}. ${USAGE}`);
  if (o.app) checkAppName(o.app);
  const choice = databaseFromEnv(o.app ?? 'wf', env, argv);
  if (choice.kind === 'sqlite' && ((!o.app && !env.WORKBOOK_SQLITE_FILE) || !existsSync(choice.file))) {
    throw new ConfigError(`wf schedules needs an existing database: pass --app NAME for data/NAME.db (e.g. --app ex9, after running experiments/ex9.ts), or set WORKBOOK_SQLITE_FILE (${choice.file} does not exist).`);
  }
  await withDatabase(choice, o.app ?? 'public', `workbook-wf-${process.pid}`, async (db) => {
    if (command === 'list') {
      const rows = await db.listSchedules({ applicationName: o.app });
      if (o.json) return void out(JSON.stringify(rows));
      const t = new Table({ head: ['schedule', 'cron', 'status', 'workflow', 'last slot fired', 'backfill', 'application'], style: { head: [], border: [] } });
      for (const r of rows) t.push([r.scheduleName, r.schedule, r.status, r.workflowName, r.lastFiredAt ?? '-', r.automaticBackfill ? 'yes' : 'no', r.applicationName ?? '-']);
      return void out(rows.length ? t.toString() : 'no schedules');
    }
    const status = command === 'pause' ? 'PAUSED' : 'ACTIVE';
    if (!(await db.setScheduleStatus(name, status))) throw new ConfigError(`there is no schedule named "${name}" (npm run wf -- schedules lists them).`);
    out(`schedule ${name} is ${status}: every scheduler process sees it within a second${status === 'PAUSED' ? ' and fires no more slots' : ' and fires its next slot (missed ones are skipped unless it backfills)'}.`);
  });
}
