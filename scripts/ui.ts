/**
 * npm run ui: a local web page of workflows, their executions, crashes and recoveries, queues and schedules
 * =======================================================================================================
 *
 *   npm run ui -- --app ex6                   SQLite data/ex6.db (beside the ex6 loop: it fills as the loop runs)
 *   npm run ui -- --pg                        embedded PostgreSQL, every application (--app ex6: only ex6's)
 *   DATABASE_URL=postgres://... npm run ui    your own server
 *   options: --port 7070 (the default; a free one if taken), --allow-actions (resume and cancel buttons)
 *
 * It listens on 127.0.0.1 only and prints its address: "UI: http://127.0.0.1:7070/". The page reads
 * the same system database as the lessons and `npm run wf`, opened as wf opens it (without recovering
 * anything: looking never runs a workflow), and asks again every second, so it follows a running lesson.
 * Read-only unless --allow-actions. Ctrl-C stops it (and an embedded PostgreSQL it started).
 * Exit 0: stopped. 1: the database or the port failed. 2: bad input (the message says the fix).
 */
import { serve } from '@hono/node-server';
import { existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { checkAppName, databaseFromEnv, dataDir } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { isBadInput } from '../lib/lesson.js';
import { redactText } from '../lib/redact.js';
import { openDatabase, type OpenedDatabase } from '../lib/storage/open.js';
import { createUiApp } from '../lib/ui/server.js';

const USAGE = 'usage: npm run ui -- [--app NAME] [--pg|--sqlite] [--port N] [--allow-actions]   (DATABASE_URL=postgres://... for your own server)';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: { app: { type: 'string' }, port: { type: 'string' }, 'allow-actions': { type: 'boolean' }, pg: { type: 'boolean' }, sqlite: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (o.help) return void console.log(USAGE);
  if (o.app) checkAppName(o.app);
  const port = Number(o.port ?? 7070);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port ${o.port} is not a port: give a whole number from 1 to 65535 (0: any free one).`);
  const choice = databaseFromEnv(o.app ?? 'wf', env, argv);
  if (choice.kind === 'sqlite' && !o.app && !env.WORKBOOK_SQLITE_FILE) {
    const found = existsSync(dataDir(env)) ? readdirSync(dataDir(env)).filter((f) => /^[a-z][a-z0-9_]*\.db$/.test(f)).map((f) => f.slice(0, -3)) : [];
    throw new ConfigError(`which lesson? On SQLite each lesson has its own file: pass --app NAME (${found.length ? `found: ${found.join(', ')}` : 'e.g. --app ex6, after running experiments/ex6.ts'}); ` +
      'on PostgreSQL (--pg or DATABASE_URL) the page lists every application, or the one --app names.');
  }
  if (choice.kind === 'embedded-postgres' && !existsSync(`${choice.dir}/PG_VERSION`)) {
    throw new ConfigError(`there is no embedded PostgreSQL in ${choice.dir} yet: run a lesson with --pg first (npx tsx experiments/ex6.ts --pg), or set DATABASE_URL to your server.`);
  }
  const session = `workbook-ui-${process.pid}`;
  let opened: OpenedDatabase | undefined;
  let description = choice.kind === 'sqlite' ? `SQLite ${choice.file}` : 'PostgreSQL';
  const open = async () => {
    opened = await openDatabase(choice, o.app ?? 'public', session);
    description = opened.db.description;
  };
  // A SQLite file that does not exist yet is waited for, not created: start the page, then the lesson.
  let waiting: string | undefined;
  let poll: NodeJS.Timeout | undefined;
  if (choice.kind === 'sqlite' && !existsSync(choice.file)) {
    waiting = `no database at ${choice.file} yet: start the lesson (npx tsx experiments/${o.app ?? 'ex6'}.ts) and this page fills in.`;
    console.log(`WAITING: ${waiting}`);
    poll = setInterval(() => {
      if (!existsSync(choice.file) || opened) return;
      clearInterval(poll);
      open().then(() => { waiting = undefined; console.log(`OPENED: ${description}`); }, (e) => console.error(`FAILED: ${redactText((e as Error).message)}`));
    }, 1000);
  } else {
    await open();
  }
  let listening = 0;
  const app = createUiApp({
    db: () => opened?.db, description: () => description, waiting: () => waiting, app: o.app, allowActions: !!o['allow-actions'], port: () => listening,
    wfArgs: `${o.app ? ` --app ${o.app}` : ''}${o.pg ? ' --pg' : o.sqlite ? ' --sqlite' : ''}`,
  });
  const server = await listen(app.fetch, port);
  listening = (server.address() as AddressInfo).port;
  console.log(`UI: http://127.0.0.1:${listening}/  (${description}; ${o.app ? `application ${o.app}` : 'every application'}; ` +
    `${o['allow-actions'] ? 'resume and cancel allowed' : 'read-only: --allow-actions adds resume and cancel'}). Ctrl-C stops it.`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(poll);
      server.close();
      server.closeAllConnections?.();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (opened) {
    await opened.db.close();
    await opened.release();
  }
}

type Served = ReturnType<typeof serve> & { closeAllConnections?: () => void };

/** Listens on 127.0.0.1:port; a port in use gives way to any free one (said so). */
function listen(fetch: Parameters<typeof serve>[0]['fetch'], port: number): Promise<Served> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: '127.0.0.1' }, () => resolve(server as Served));
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || port === 0) return reject(err);
      console.log(`port ${port} is in use: taking a free one instead (--port N picks one).`);
      resolve(listen(fetch, 0));
    });
  });
}

try {
  await main(process.argv.slice(2), process.env);
} catch (e) {
  const bad = isBadInput(e) || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${bad ? 'BAD INPUT' : 'FAILED'}: ${redactText((e as Error).message)}${bad ? `\n${USAGE}` : ''}\n`);
  process.exitCode = bad ? 2 : 1;
}
