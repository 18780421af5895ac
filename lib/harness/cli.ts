// The crash-test command line, shared by `npm run crash-test` in this repository and
// `npx durable-workbook crash-test` in a project that installed the workbook
// (bin/durable-workbook.mjs); the options are listed in scripts/crash-test.ts. Exit 0: every
// crash point passed; 1: one failed (each named, with what differed and how to replay it alone);
// 2: bad input (the message says the fix).
import { parseArgs } from 'node:util';
import { WorkbookError } from '../errors.js';
import { isBadInput } from '../lesson.js';
import { crashTest, CrashTestError } from './index.js';

const OPTIONS = '[--args JSON] [--db sqlite|pg] [--setup NAME] [--check NAME] [--app-env NAME] [--tables a,b] [--when after,before,end] [--point ID:WHEN] [--jobs N] [--keep]';

/** Runs the crash test the arguments describe and exits with its code; `command` starts the usage line. */
export async function crashTestCli(argv: string[], command: string): Promise<never> {
  const usage = `usage: ${command} path/to/workflow.ts [workflowName] ${OPTIONS}`;
  const bad = (message: string): never => {
    process.stderr.write(`BAD INPUT: ${message}\n${usage}\n`);
    process.exit(2);
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        args: { type: 'string' }, db: { type: 'string' }, check: { type: 'string' }, tables: { type: 'string' },
        when: { type: 'string' }, jobs: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        setup: { type: 'string' }, 'app-env': { type: 'string' }, point: { type: 'string', multiple: true },
      },
    });
  } catch (err) {
    return bad((err as Error).message);
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    console.log(usage);
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
  // --when, --jobs, --point and --app-env are checked by crashTest itself, for callers from a test file too.
  const list = (s: string | undefined) => s?.split(',').map((x) => x.trim()).filter(Boolean);
  try {
    await crashTest(modulePath, workflowName, args, {
      command, db: o.db, check: o.check, setup: o.setup, appEnv: o['app-env'], tables: list(o.tables), points: o.point,
      when: list(o.when) as ('after' | 'before' | 'end')[] | undefined, concurrency: o.jobs === undefined ? undefined : Number(o.jobs), keepDatabases: o.keep,
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
  process.exit(0);
}
