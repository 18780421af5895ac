/**
 * Crash torture: run a workflow under crash injection until it finishes, then check the invariants
 * ===================================================================================================
 *
 *   npm run torture                                   # 20 runs on SQLite and PostgreSQL
 *   npm run torture -- --runs 1000 --db both          # the README's table
 *   npm run torture -- --runs 50 --db sqlite --workload counter
 *   npm run torture -- --runs 20 --workload ex6       # ex6's dedup count must be exactly 1,000
 *   npm run torture -- --runs 20 --workload tx        # transaction steps: raw rows == recorded outcomes
 *   npm run torture -- --runs 20 --workload queue     # three queue workers, SIGKILLed from outside (lib/torture/run-queue.ts)
 *                                                     (its table adds the most jobs in flight, against the queue's limits)
 *   npm run torture -- --runs 20 --workload messages  # sleep, setEvent, send, recv between steps (lib/torture/run-messages.ts)
 *   Tuning: --seed-from S (first seed), --max-deaths N per run (8), --kill-chance P that a process
 *   after a run's first gets a SIGKILL (0.7), --kill-window-ms W: it comes within W ms (100 on SQLite, 250 on PostgreSQL), and
 *   --no-bundle (start the workload with tsx instead of a fresh esbuild bundle, lib/torture/bundle.ts).
 *   npm run torture -- --chaos --db both              # 3 runs of faults from outside: lib/torture/chaos.ts
 *   Chaos tuning: --workflows N per run (200), --spread-ms MS over which they start (10000).
 *
 * For seed in 1..N, on each database: a fresh database, then the workload as a child process,
 * started again and again until it prints RESULT. Each process may die two ways, both real: its
 * own process.abort() at a seeded site (lib/faults.ts), or a SIGKILL from here after a delay drawn
 * from pure-rand seeded by the run's seed. Then the invariants (lib/torture/invariants.ts).
 *
 * PostgreSQL: TORTURE_PG_URL or DATABASE_URL names a server where each run creates (and drops)
 * its own database; without either, the embedded server in data/pg is used.
 *
 * Prints a progress bar (stderr), one table per workload, every violation with its seed (replay it
 * with --seed-from S --runs 1), and a last line `TORTURE: <json>`. Exit 0 when no invariant was
 * broken, 1 when one was, 2 on bad arguments.
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDir } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { redactUrl } from '../lib/redact.js';
import { ensureEmbeddedPostgres, otherSessions, stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';
import type { FreshKind as TortureDb } from '../lib/storage/fresh.js';
import { bundleForSpeed } from '../lib/torture/bundle.js';
import { CHAOS_DEFAULTS, type ChaosOptions } from '../lib/torture/chaos.js';
import { chaosTorture } from '../lib/torture/chaos-report.js';
import { EX6_PROGRAM, runEx6Seed } from '../lib/torture/run-ex6.js';
import { runTxSeed, TX_PROGRAM } from '../lib/torture/run-tx.js';
import { LIMITS as QUEUE_LIMITS, QUEUE_PROGRAM, runQueueSeed } from '../lib/torture/run-queue.js';
import { MESSAGES_PROGRAM, runMessagesSeed } from '../lib/torture/run-messages.js';
import { COUNTER_PROGRAM, DEFAULT_OPTIONS, referenceResult, runCounterSeed, type RunStats, type TortureOptions } from '../lib/torture/run-counter.js';

process.env.WORKBOOK_LOG ??= 'warn'; // the reference runs happen in this process

interface Args {
  runs: number;
  seedFrom: number;
  dbs: TortureDb[];
  workload: 'counter' | 'ex6' | 'tx' | 'queue' | 'messages';
  bundle: boolean;
  opts: TortureOptions;
  /** --chaos: faults from outside instead of deaths (lib/torture/chaos.ts) */
  chaos?: ChaosOptions;
  /** --runs as given (a chaos run is ~20 s: without --runs, chaos does 3, not 20) */
  runsGiven?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 20, seedFrom: 1, dbs: ['sqlite', 'postgres'], workload: 'counter', bundle: true, opts: { ...DEFAULT_OPTIONS, killWindowMs: { ...DEFAULT_OPTIONS.killWindowMs } } };
  const whole = (flag: string, v: string | undefined, min: number) => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) throw new ConfigError(`${flag} ${v ?? ''} is not usable: give a whole number >= ${min}, e.g. ${flag} 100.`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    if (flag === '--no-bundle') {
      a.bundle = false;
      continue;
    }
    if (flag === '--chaos') {
      a.chaos ??= { ...CHAOS_DEFAULTS };
      continue;
    }
    if (flag === '--workflows') (a.chaos ??= { ...CHAOS_DEFAULTS }).workflows = whole(flag, v, 1);
    else if (flag === '--spread-ms') (a.chaos ??= { ...CHAOS_DEFAULTS }).spreadMs = whole(flag, v, 0);
    else if (flag === '--runs') a.runs = a.runsGiven = whole(flag, v, 1);
    else if (flag === '--seed-from') a.seedFrom = whole(flag, v, 0);
    else if (flag === '--kill-window-ms') {
      const ms = whole(flag, v, 1);
      a.opts.killWindowMs = { sqlite: ms, postgres: ms };
    }
    else if (flag === '--max-deaths') a.opts.maxDeaths = whole(flag, v, 0);
    else if (flag === '--kill-chance') {
      if (v === undefined || !/^(0(\.\d+)?|1(\.0*)?)$/.test(v)) throw new ConfigError(`--kill-chance ${v ?? ''} is not a probability: give a number from 0 to 1, e.g. --kill-chance 0.5.`);
      a.opts.killChance = Number(v);
    }
    else if (flag === '--db') {
      const map: Record<string, TortureDb[]> = { sqlite: ['sqlite'], pg: ['postgres'], postgres: ['postgres'], both: ['sqlite', 'postgres'] };
      if (!v || !map[v]) throw new ConfigError(`--db ${v ?? ''} is not a database choice: use --db sqlite, --db pg or --db both.`);
      a.dbs = map[v];
    } else if (flag === '--workload') {
      if (v !== 'counter' && v !== 'ex6' && v !== 'tx' && v !== 'queue' && v !== 'messages') throw new ConfigError(`--workload ${v ?? ''} is not a workload: use --workload counter, ex6, tx, queue or messages.`);
      a.workload = v;
    } else throw new ConfigError(`unknown argument "${flag}": use --runs N, --db sqlite|pg|both, --workload counter|ex6|tx|queue|messages, --seed-from S, --kill-window-ms MS, --kill-chance P, --max-deaths N, --no-bundle, --chaos [--workflows N] [--spread-ms MS].`);
    i++;
  }
  return a;
}

/** The PostgreSQL server the runs create their databases on; stops an embedded one we started. */
async function postgresServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = process.env.TORTURE_PG_URL || process.env.DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };
  const dir = join(dataDir(), 'pg');
  const wasUp = existsSync(join(dir, 'postmaster.pid'));
  const server = await ensureEmbeddedPostgres(dir);
  // Stop it only if we started it and nobody else came to use it meanwhile (as lib/storage/open.ts).
  const stop = async () => {
    if (!wasUp && (await otherSessions(server.adminUrl, 'torture').catch(() => 1)) === 0) await stopEmbeddedPostgres(dir);
  };
  return { url: server.adminUrl, stop };
}

interface Totals { runs: number; processes: number; aborts: number; kills: number; recoveries: number; reRuns: number; retries: number; violations: number; inFlight?: { all: number; worker: number } }

function total(list: RunStats[]): Totals {
  const t: Totals = { runs: 0, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: 0 };
  for (const s of list) {
    t.runs++;
    t.processes += s.processes;
    t.aborts += s.aborts;
    t.kills += s.kills;
    t.recoveries += s.recoveries;
    t.reRuns += s.reRuns;
    t.retries += s.retries;
    t.violations += s.violations.length;
    if (s.inFlight) t.inFlight = { all: Math.max(t.inFlight?.all ?? 0, s.inFlight.all), worker: Math.max(t.inFlight?.worker ?? 0, s.inFlight.worker) };
  }
  return t;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.chaos) return chaosTorture({ runs: args.runsGiven ?? 3, seedFrom: args.seedFrom, dbs: args.dbs, opts: args.chaos });
  const pg = args.dbs.includes('postgres') ? await postgresServer() : undefined;
  args.opts.pgAdminUrl = pg?.url;
  const scratch = mkdtempSync(join(tmpdir(), 'torture-reference-'));
  const entry = { counter: COUNTER_PROGRAM, ex6: EX6_PROGRAM, tx: TX_PROGRAM, queue: QUEUE_PROGRAM, messages: MESSAGES_PROGRAM }[args.workload];
  const program = args.bundle ? await bundleForSpeed(entry) : { file: entry, dispose: () => {} };
  args.opts.program = program.file;
  const results: RunStats[] = [];
  const bar = new cliProgress.SingleBar(
    { format: 'torture {workload} [{bar}] {value}/{total} runs | {db} seed {seed} | violations {bad}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  console.log(`torture: workload ${args.workload}, seeds ${args.seedFrom}..${args.seedFrom + args.runs - 1} on ${args.dbs.join(' and ')}` +
    (pg ? ` (PostgreSQL ${redactUrl(pg.url)})` : ''));
  bar.start(args.runs * args.dbs.length, 0, { workload: args.workload, db: '-', seed: '-', bad: 0 });
  try {
    for (let seed = args.seedFrom; seed < args.seedFrom + args.runs; seed++) {
      const reference = args.workload === 'counter' ? await referenceResult(seed, scratch) : undefined;
      for (const db of args.dbs) {
        bar.update({ db, seed });
        const stats = args.workload === 'counter' ? await runCounterSeed(db, seed, reference, args.opts)
          : args.workload === 'tx' ? await runTxSeed(db, seed, args.opts)
          : args.workload === 'queue' ? await runQueueSeed(db, seed, args.opts)
          : args.workload === 'messages' ? await runMessagesSeed(db, seed, args.opts) : await runEx6Seed(db, seed, args.opts);
        results.push(stats);
        bar.increment(1, { bad: results.reduce((n, s) => n + s.violations.length, 0) });
      }
    }
  } finally {
    bar.stop();
    program.dispose();
    rmSync(scratch, { recursive: true, force: true });
    await pg?.stop();
  }

  const queue = args.workload === 'queue'; // its table adds the most jobs in flight against the queue's limits
  const table = new Table({ style: { head: [], border: [] }, head: ['database', 'runs', 'processes', 'deaths: abort', 'deaths: SIGKILL', 'recoveries', 're-run before recording', 'step retries',
    ...(queue ? [`most in flight (limit ${QUEUE_LIMITS.global})`, `most in one worker (limit ${QUEUE_LIMITS.worker})`] : []), 'invariant violations'] });
  const summary: Record<string, Totals> = {};
  for (const db of args.dbs) {
    const t = (summary[db] = total(results.filter((r) => r.db === db)));
    table.push([db, t.runs, t.processes, t.aborts, t.kills, t.recoveries, t.reRuns, t.retries, ...(queue ? [t.inFlight?.all ?? '-', t.inFlight?.worker ?? '-'] : []), t.violations]);
  }
  console.log(table.toString());
  console.log(`${results.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const r of results) for (const n of r.notes) console.log(`note: ${r.db} seed ${r.seed}: ${n}`);
  for (const r of results.filter((x) => x.violations.length)) {
    console.log(`\nVIOLATION on ${r.db}, seed ${r.seed} (replay: npm run torture -- --runs 1 --seed-from ${r.seed} --db ${r.db === 'postgres' ? 'pg' : 'sqlite'} --workload ${args.workload})`);
    for (const v of r.violations) console.log(`  - ${v}`);
    if (r.kept) console.log(`  kept: ${r.kept}`);
  }
  console.log(`TORTURE: ${JSON.stringify({ workload: args.workload, summary })}`);
  return results.some((r) => r.violations.length) ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`\n${err instanceof ConfigError ? 'BAD INPUT' : 'FAILED'}: ${(err as Error).message}\n`);
  process.exitCode = err instanceof ConfigError ? 2 : 1;
}
