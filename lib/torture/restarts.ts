// The restart loop of the torture's single-process workloads (counter, tx, messages): start the workload
// process again and again until it prints RESULT, each time letting it die (its own seeded
// process.abort(), or our SIGKILL a seeded delay after STARTED); after `maxDeaths` deaths the next
// processes run with their crash sites at 0, so every run ends.
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { markedJson } from '../child-run.js';
import { siteEnvName } from '../faults.js';
import type { FreshKind as TortureDb } from '../storage/fresh.js';
import { runChild } from './child.js';
import type { RunStats, TortureOptions } from './run-counter.js';

export interface RestartPlan {
  program: string;
  /** the environment of the n-th process (1, 2 ...) */
  env: (n: number) => Record<string, string>;
  /** the sites turned off once the run has had its deaths */
  crashSites: string[];
  /** the SIGKILL comes within this many ms after STARTED (default opts.killWindowMs of the database) */
  killWindowMs?: number;
}

/**
 * Runs processes until one exits 0; counts them and their deaths in `stats`. Returns its RESULT
 * (undefined after a violation), whether a process exited 0 at all, and the pids that died.
 */
export async function restartUntilResult<T>(db: TortureDb, seed: number, opts: TortureOptions, stats: RunStats, plan: RestartPlan): Promise<{ result: T | undefined; finished: boolean; dead: Set<number> }> {
  const rng = xoroshiro128plus(seed * 2 + (db === 'sqlite' ? 0 : 1));
  const draw = (max: number) => unsafeUniformIntDistribution(0, max, rng);
  const dead = new Set<number>();
  for (;;) {
    if (++stats.processes > opts.maxProcesses) {
      stats.violations.push(`no result after ${opts.maxProcesses} processes: the workflow does not make progress`);
      return { result: undefined, finished: false, dead };
    }
    const calm = stats.aborts + stats.kills >= opts.maxDeaths;
    const armKill = !calm && stats.processes > 1 && draw(999) < opts.killChance * 1000;
    const delay = draw(plan.killWindowMs ?? opts.killWindowMs[db]);
    const env = plan.env(stats.processes);
    if (calm) for (const site of plan.crashSites) env[siteEnvName(site)] = '0';
    const child = await runChild(opts.program ?? plan.program, env, armKill ? { afterMs: delay, marker: 'STARTED' } : undefined);
    if (process.env.TORTURE_VERBOSE) {
      process.stderr.write(`${db} seed ${seed} process ${stats.processes}: ${child.signal ?? `exit ${child.code}`} after ${child.ms} ms${armKill ? ` (SIGKILL planned at ${delay} ms)` : ''}\n`);
    }
    if (child.signal === 'SIGABRT') (stats.aborts++, dead.add(child.pid));
    else if (child.signal === 'SIGKILL' && child.killed) (stats.kills++, dead.add(child.pid));
    else if (child.code === 0) {
      const result = markedJson<T>(child.stdout, 'RESULT: ');
      if (result === undefined) stats.violations.push(`process ${stats.processes} exited 0 without a RESULT line`);
      return { result, finished: true, dead };
    } else {
      const tail = child.stderr.trim().split('\n').slice(-6).join('\n   ');
      stats.violations.push(`process ${stats.processes} ended with code ${child.code} signal ${child.signal}:\n   ${tail}`);
      return { result: undefined, finished: false, dead };
    }
  }
}
