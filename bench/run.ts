/**
 * npm run bench: what does a durable step cost, next to the cost of one commit?
 * ============================================================================
 *
 * For each database, in a process of its own, in the same run:
 *   1. the raw limit: single-row INSERT + commit per row, same driver and durability settings as the engine;
 *   2. steps/s in one workflow of N steps (each returns a small JSON value);
 *   3. one-step workflows/s, one after the other, and 100 started at once;
 *      2 and 3 each with their floor: the engine's own SQL run on the raw connection without the
 *      engine, so the table splits each gap into what the rows cost and what the engine's code costs;
 *   4. experiments/ex5.ts end to end (1,000 users, 10 child workflows), run as a child process;
 *   5. the time and the queries to recover (replay) a workflow with 10,000 recorded steps;
 *   6. peak RSS after 10,000 and after 100,000 steps of one workflow (a fresh process);
 *   7. through a queue: one-step workflows/s with 1, 2 and 4 worker processes, and the dequeue
 *      latency (enqueue to start, median and p99), with the raw rate measured around them (bench/queue.ts).
 * Raw commits and engine figures are measured in interleaved rounds, so that load from other
 * programs hits both; each ratio is taken against the raw rate measured around it.
 *
 * Run it
 *   npm run bench                      # quick: about a minute, both databases
 *   npm run bench -- --full            # larger N, more rounds
 *   npm run bench -- --db sqlite       # one database (sqlite or postgres)
 *   npm run bench -- --no-queue        # without phase 7 (about 20 s per database in quick mode)
 *   npm run bench -- --quick-test      # tiny sizes: proves that every figure is measured (the test)
 *   npm run bench -- --full --markdown # the tables again in Markdown, as the README shows them
 *   DATABASE_URL=postgres://... npm run bench   # your own server instead of the embedded one
 *   npm run bench -- --vs dbos         # the engine next to DBOS Transact (bench/vs-dbos.ts)
 *
 * What it prints: a line per phase while it runs, then one table per database, and the path of
 * the JSON copy, profiles/bench-<time>.json (--out <dir> moves it), to compare versions.
 * SQLite runs in a temporary file; PostgreSQL on an embedded server in a temporary directory,
 * stopped at the end. Exit 0 when every figure was measured (a missed target is reported, not an error).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../lib/config.js';
import { tempDir } from '../lib/storage/fresh.js';
import { BENCH_KINDS, postgresServer, type BenchKind } from './databases.js';
import type { BenchReport, DatabaseResult } from './figures.js';
import { modeFromArgs } from './modes.js';
import { benchQueue, renderQueueMarkdown, renderQueueTable } from './queue.js';
import { runTs } from './spawn.js';
import { renderMarkdown, renderTable } from './table.js';

const argv = process.argv.slice(2);
const valueOf = (flag: string) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};

function databasesFromArgs(): BenchKind[] {
  const db = valueOf('--db');
  if (db === undefined) return BENCH_KINDS;
  const kind = db === 'pg' ? 'postgres' : db;
  if (kind !== 'sqlite' && kind !== 'postgres') {
    process.stderr.write(`BAD INPUT: --db ${db} is not a database: use --db sqlite or --db postgres (or leave it out for both).\n`);
    process.exit(2);
  }
  return [kind];
}

// --vs dbos: the same workloads on DBOS Transact and on the engine, side by side (bench/vs-dbos.ts).
if (valueOf('--vs') !== undefined) {
  if (valueOf('--vs') !== 'dbos') {
    process.stderr.write(`BAD INPUT: --vs ${valueOf('--vs')} is not something to compare with: use --vs dbos.\n`);
    process.exit(2);
  }
  await (await import('./vs-dbos.js')).benchVsDbos();
  process.exit(0);
}

const mode = modeFromArgs(argv);
const kinds = databasesFromArgs();
const outDir = resolve(valueOf('--out') ?? join(PROJECT_ROOT, 'profiles'));
const startedAt = new Date();
const progress = (line: string) => process.stderr.write(`${line}\n`);

async function benchOne(kind: BenchKind, dir: string, pgUrl?: string): Promise<DatabaseResult> {
  let result: DatabaseResult | undefined;
  const run = await runTs('bench/db-child.ts', [kind, mode], { BENCH_DIR: dir, BENCH_PG_URL: pgUrl, WORKBOOK_LOG: 'warn' }, (line) => {
    if (!line.startsWith('{')) return;
    const msg = JSON.parse(line) as { progress?: string; result?: DatabaseResult };
    if (msg.progress) progress(`[${kind}] ${msg.progress}`);
    if (msg.result) result = msg.result;
  });
  const bad = /^BAD INPUT: .*$/m.exec(run.stderr);
  if (run.code === 2 && bad) throw Object.assign(new Error(bad[0]), { badInput: true });
  if (run.code !== 0 || !result) throw new Error(`the ${kind} benchmark failed (exit ${run.code}, signal ${run.signal}):\n${run.stderr.slice(-3000)}`);
  if (!argv.includes('--no-queue')) result.queue = await benchQueue(kind, mode, dir, pgUrl, (line) => progress(`[${kind}] ${line}`));
  return result;
}

// A directory the postgres user can enter too (as root, PostgreSQL runs as "postgres").
const dir = tempDir('workbook-bench-');
const results: DatabaseResult[] = [];
let failed = false;
let badInput = false;
try {
  for (const kind of kinds) {
    if (kind === 'sqlite') {
      results.push(await benchOne(kind, dir));
      continue;
    }
    progress(`[postgres] ${process.env.DATABASE_URL ? 'using DATABASE_URL' : 'starting an embedded PostgreSQL in a temporary directory'}`);
    const server = await postgresServer(dir);
    try {
      results.push(await benchOne(kind, dir, server.url));
    } finally {
      await server.stop();
    }
  }
} catch (err) {
  failed = true;
  if ((err as { badInput?: boolean }).badInput) badInput = true;
  process.stderr.write(badInput ? `\n${(err as Error).message}\n` : `\nFAILED: ${(err as Error).message}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

for (const r of results) console.log(`\n${renderTable(r, process.stdout.isTTY)}${r.queue ? `\n${renderQueueTable(r.kind, r.queue, process.stdout.isTTY)}` : ''}`);
if (argv.includes('--markdown')) for (const r of results) console.log(`\n${renderMarkdown(r)}${r.queue ? `\n\n${renderQueueMarkdown(r.kind, r.queue)}` : ''}`);
if (results.length) {
  const report: BenchReport = {
    version: 1, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), mode,
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, loadAverage: loadavg() },
    databases: results,
  };
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${startedAt.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const shown = relative(process.cwd(), file);
  console.log(`\nBENCH_JSON: ${shown.startsWith('..') ? file : shown}`);
}
process.exitCode = badInput ? 2 : failed ? 1 : 0;
