// `npm run wf -- queues` and `npm run wf -- list --queue NAME` (scripts/wf.ts hands these over):
// per queue, how many workflows wait (ENQUEUED), run (PENDING, by which executor, live or dead) and
// ended; which workers serve it; and work that no live worker can run (a workflow name nobody
// registered), with the fix. Opened without DBOS.launch(): looking never runs a workflow.
import Table from 'cli-table3';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkAppName, databaseFromEnv } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { isBadInput } from '../lib/lesson.js';
import { withDatabase } from '../lib/storage/open.js';
import { summarize } from '../lib/wf/queues.js';
import type { SystemDatabase, WorkflowRow } from '../lib/storage/types.js';

type Out = (text: string) => void;
const USAGE = 'usage: npm run wf -- queues [--app NAME] [--json] [--pg|--sqlite]   or   npm run wf -- list --queue NAME [--app NAME] [--limit N]';
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });
const time = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString().slice(11, 23) : '-');

/** True when scripts/wf.ts should hand `argv` to this file. */
export const isQueueCommand = (argv: string[]): boolean => argv[0] === 'queues' || argv.includes('--queue');

export async function wfQueues(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  try {
    const { values: o, positionals } = parseArgs({
      args: argv, allowPositionals: true,
      options: { app: { type: 'string' }, queue: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, pg: { type: 'boolean' }, sqlite: { type: 'boolean' } },
    });
    const [command, ...extra] = positionals;
    if (command !== 'queues' && command !== 'list') throw new ConfigError(`--queue goes with wf list (got "${command ?? ''}").`);
    if (extra.length) throw new ConfigError(`wf ${command} takes no id (got: ${extra.join(' ')}).`);
    if (command === 'list' && !o.queue) throw new ConfigError('--queue needs a queue name: wf list --queue NAME (wf queues lists them).');
    if (o.app) checkAppName(o.app);
    const choice = databaseFromEnv(o.app ?? 'wf', env, argv);
    if (choice.kind === 'sqlite' && (!(o.app || env.WORKBOOK_SQLITE_FILE) || !existsSync(choice.file)))
      throw new ConfigError(`there is no database at ${choice.file}: pass --app NAME for data/NAME.db (e.g. --app ex7), or set WORKBOOK_SQLITE_FILE.`);
    await withDatabase(choice, o.app ?? 'public', `workbook-wf-${process.pid}`, (db) =>
      command === 'queues' ? queues(db, o.json ?? false, out) : list(db, o.queue!, Number(o.limit ?? 50), out));
    return 0;
  } catch (e) {
    const bad = isBadInput(e) || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    err(`${bad ? 'BAD INPUT' : 'FAILED'}: ${(e as Error).message}${bad ? `\n${USAGE}` : ''}`);
    return bad ? 2 : 1;
  }
}

async function queues(db: SystemDatabase, json: boolean, out: Out): Promise<void> {
  const all = await summarize(db);
  if (json) return void out(JSON.stringify(all, null, 2));
  if (!all.length) return void out('no queues: nothing was enqueued and no worker registered a queue in this database.');
  const t = table(['queue', 'ENQUEUED', 'PENDING (executor)', 'ended', 'workers (live/all)']);
  for (const q of all) {
    const pend = q.pending.map((p) => `${p.count} ${p.executorID ?? '?'} (${p.live ? 'live' : 'dead'})`).join('\n') || '0';
    const ended = Object.entries(q.ended).map(([s, n]) => `${n} ${s}`).join(', ') || '0';
    t.push([q.queue, q.enqueued, pend, ended, `${q.workers.filter((w) => w.live).length}/${q.workers.length}`]);
  }
  out(t.toString());
  for (const q of all) {
    for (const u of q.unserved) {
      const live = q.workers.filter((w) => w.live);
      out(`WAITING: ${u.count} ENQUEUED workflow(s) named "${u.workflowName}" on queue ${q.queue}: no live worker registers "${u.workflowName}" ` +
        `(${live.length ? `live workers register: ${[...new Set(live.flatMap((w) => w.workflowNames))].join(', ')}` : 'no live worker serves this queue'}). ` +
        `Nothing is lost: start a worker that registers the workflow under that name and the queue ${q.queue}, or check the name the client enqueued.`);
    }
    for (const p of q.pending.filter((p) => !p.live)) out(`DEAD OWNER: ${p.count} PENDING workflow(s) on queue ${q.queue} belong to ${p.executorID ?? '(none)'}, which is gone: a live worker of the queue sends them back to ENQUEUED within a tenth of its lease (1 s by default), to be claimed again under the limits.`);
  }
}

async function list(db: SystemDatabase, queue: string, limit: number, out: Out): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit ${limit} is not a whole number >= 1.`);
  const rows: WorkflowRow[] = await db.listQueueRows(queue);
  if (!rows.length) return void out(`no workflows on queue ${queue} (wf queues lists the queues).`);
  const t = table(['workflow id', 'name', 'status', 'priority', 'executor', 'enqueued', 'started', 'executions']);
  for (const r of rows.slice(-limit)) t.push([r.workflowID, r.name, r.status, r.priority ?? 0, r.executorID ?? '-', time(r.createdAt), time(r.startedAtEpochMs), r.recoveryAttempts]);
  out(t.toString());
  if (rows.length > limit) out(`(the newest ${limit} of ${rows.length}; --limit shows more)`);
}
