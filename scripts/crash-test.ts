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
 *   --setup NAME        the export that creates the application's tables on each fresh database
 *                       (default "setup", if any)
 *   --check NAME        the export used as the application's check (default "check", if any)
 *   --app-env NAME      the variable the application reads its database from (default
 *                       DATABASE_URL): a fresh SQLite file's path, or the fresh database's URL
 *   --point ID:WHEN     only this crash point (a function id or step name, :after, :before or :end),
 *                       as each failure's "replay" line gives it; repeatable
 *   --tables a,b        tables whose row counts must equal the reference run's
 *   --when after,before,end which crash points (default all three; end: each workflow's end, its last step's outcome pending)
 *   --jobs N            crash points tested at once (default 1)
 *   --keep              keep the databases even when everything passed
 *
 * Exit 0: every crash point passed. 1: a crash point failed (each one named, with what differed).
 * 2: bad input (the message says the fix). The same command in a project that installed the
 * workbook: npx durable-workbook crash-test ... (bin/durable-workbook.mjs, lib/harness/cli.ts).
 *
 *   npm run crash-test -- examples/order/buggy.ts order     # fails: a duplicate charge
 *   npm run crash-test -- examples/order/fixed.ts order     # passes
 */
import { crashTestCli } from '../lib/harness/cli.js';

await crashTestCli(process.argv.slice(2), 'npm run crash-test --');
