/**
 * npm run crash-test -- path/to/workflow.ts [workflowName] [options]
 * ==================================================================
 *
 * Crash-tests your workflow at every step (lib/harness/index.ts): a reference run, then for every
 * recorded function id a process that dies right after, and one that dies right before, the
 * step's outcome is recorded; each recovered in a new process and compared with the reference.
 *
 *   workflowName        the export of the module that holds the registered workflow
 *                       (default: the only registered workflow the module exports)
 *   --args JSON         the workflow's arguments as a JSON array (default: the module's
 *                       crashTestArgs export, or none)
 *   --db sqlite|pg      a fresh SQLite file (default) or a fresh PostgreSQL database per run:
 *                       on DATABASE_URL's server, or on the embedded server when it is unset
 *   --check NAME        the export used as the application's check (default "check", if any)
 *   --tables a,b        tables whose row counts must equal the reference run's
 *   --when after,before,end which crash points (default all three; end: each workflow's end, its last step's outcome pending)
 *   --jobs N            crash points tested at once (default 1)
 *   --keep              keep the databases even when everything passed
 *
 * Exit 0: every crash point passed. 1: a crash point failed (each one named, with what differed).
 * 2: bad input (the message says the fix).
 *
 *   npm run crash-test -- examples/order/buggy.ts order     # fails: a duplicate charge
 *   npm run crash-test -- examples/order/fixed.ts order     # passes
 */
import { parseArgs } from 'node:util';
import { isBadInput } from '../lib/lesson.js';
import { crashTest, CrashTestError } from '../lib/harness/index.js';
import { WorkbookError } from '../lib/errors.js';

const USAGE = 'usage: npm run crash-test -- path/to/workflow.ts [workflowName] [--args JSON] [--db sqlite|pg] [--check NAME] [--tables a,b] [--when after,before,end] [--jobs N] [--keep]';

function bad(message: string): never {
  process.stderr.write(`BAD INPUT: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      args: { type: 'string' }, db: { type: 'string' }, check: { type: 'string' }, tables: { type: 'string' },
      when: { type: 'string' }, jobs: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  bad((err as Error).message);
}
const { values: o, positionals } = parsed;
if (o.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length < 1 || positionals.length > 2) bad(`give the workflow's module, and optionally its export name (got ${positionals.length} arguments).`);
const [modulePath, workflowName = ''] = positionals;

let args: unknown[] | undefined;
if (o.args !== undefined) {
  try {
    const v = JSON.parse(o.args);
    args = Array.isArray(v) ? v : [v];
  } catch (err) {
    bad(`--args is not JSON (${(err as Error).message}): give a JSON array, e.g. --args '["order-1", 2]'.`);
  }
}
// --when and --jobs are checked by crashTest itself, for callers from a test file too.
const when = o.when?.split(',').map((s) => s.trim());
const jobs = o.jobs === undefined ? undefined : Number(o.jobs);

try {
  await crashTest(modulePath, workflowName, args, {
    db: o.db, check: o.check, tables: o.tables?.split(',').map((s) => s.trim()).filter(Boolean),
    when: when as ('after' | 'before' | 'end')[] | undefined, concurrency: jobs, keepDatabases: o.keep,
  });
} catch (err) {
  if (err instanceof CrashTestError) {
    process.stderr.write(`\n${err.message}\n`);
    process.exit(1);
  }
  if (isBadInput(err)) bad((err as Error).message);
  process.stderr.write(`FAILED: ${err instanceof WorkbookError ? err.message : (err as Error).stack}\n`);
  process.exit(1);
}
