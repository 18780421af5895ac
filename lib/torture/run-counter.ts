// One torture run of the counter workload on one database: start the workload process again and
// again until it prints RESULT, each time letting it die (its own seeded process.abort(), or our
// SIGKILL after a seeded delay), then check the invariants (lib/torture/invariants.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DBOS } from '../dbos.js';
import { withDatabase } from '../storage/open.js';
import { freshDatabase, type FreshKind as TortureDb } from '../storage/fresh.js';
import { checkRun } from './invariants.js';
import { restartUntilResult } from './restarts.js';
import { configureWorkload, CRASH_SITES, tortureCounter } from './workload.js';

export interface TortureOptions {
  /** after this many deaths in a run, the next process runs without any (so every run ends) */
  maxDeaths: number;
  /** chance that a process (after the first of a run) gets a SIGKILL from outside */
  killChance: number;
  /** the SIGKILL comes uniformly within this many ms after STARTED; about the life of a process
   * after a death, which is shorter on SQLite than on PostgreSQL */
  killWindowMs: Record<TortureDb, number>;
  /** a run that needs more processes than this is a violation (it does not make progress) */
  maxProcesses: number;
  pgAdminUrl?: string;
  /** the workload program to start: its TypeScript file, or a bundle of it (lib/torture/bundle.ts) */
  program?: string;
}

export const DEFAULT_OPTIONS: TortureOptions = { maxDeaths: 8, killChance: 0.7, killWindowMs: { sqlite: 100, postgres: 250 }, maxProcesses: 30 };

export interface RunStats {
  db: TortureDb;
  seed: number;
  processes: number;
  aborts: number;
  kills: number;
  recoveries: number;
  reRuns: number;
  retries: number;
  violations: string[];
  /** things worth saying that are not violations */
  notes: string[];
  /** where the database was kept, when the run broke an invariant */
  kept?: string;
  /** the queue workload: most jobs in flight at once, over all workers and in any one worker */
  inFlight?: { all: number; worker: number };
}

export const COUNTER_PROGRAM = 'lib/torture/counter-child.ts';

/** The same workflow, same seed, no crash: run here, in this process, on a scratch SQLite file. */
export async function referenceResult(seed: number, dir: string): Promise<unknown> {
  configureWorkload({ counterFile: join(dir, 'reference-counter.log'), faults: false, env: { WORKBOOK_SEED: String(seed) } });
  DBOS.setConfig({ name: 'torture', database: { kind: 'sqlite', file: join(dir, 'reference.db') } });
  await DBOS.launch();
  try {
    return await DBOS.startWorkflow(tortureCounter, { workflowID: `reference-${seed}` })(seed).then((h) => h.getResult());
  } finally {
    await DBOS.shutdown();
  }
}

export async function runCounterSeed(db: TortureDb, seed: number, reference: unknown, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [], notes: [] };
  const place = await freshDatabase(db, 'torture', `s${seed}`, opts.pgAdminUrl);
  const counterFile = join(place.dir, 'counter.log');
  const rootID = `torture-${seed}`;
  try {
    // The outside deaths are seeded too: which process gets one, and after how long (restarts.ts).
    const { result, finished, dead: deadPids } = await restartUntilResult<unknown>(db, seed, opts, stats, {
      program: COUNTER_PROGRAM, crashSites: Object.keys(CRASH_SITES),
      env: () => ({ ...place.env, WORKBOOK_SEED: String(seed), TORTURE_COUNTER_FILE: counterFile, TORTURE_WORKFLOW_ID: rootID }),
    });
    if (finished) {
      await withDatabase(place.choice, 'torture', 'torture-check', async (db) => {
        const counterText = existsSync(counterFile) ? readFileSync(counterFile, 'utf8') : '';
        const c = await checkRun({ db, rootID, counterText, deadPids, result, reference });
        stats.violations.push(...c.violations);
        Object.assign(stats, { recoveries: c.recoveries, reRuns: c.reRuns, retries: c.retries });
        if (c.torn) stats.violations.push(`${c.torn} torn line(s) in the counter file`);
      });
    }
  } catch (err) {
    stats.violations.push(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = `${place.where} (counter: ${counterFile})`;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
