// One torture run of the ex6 lesson (experiments/ex6.ts) on one database: run it again and again,
// as its own banner says (it crashes itself at seeded sites; we add SIGKILLs from outside), until
// it exits 0, then check that its dedup count is exactly 1,000 and the generic invariants hold.
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { openDatabase } from '../storage/open.js';
import { runChild } from './child.js';
import { prepareDatabase, type TortureDb } from './databases.js';
import { checkStorage, checkWorkflows } from './invariants.js';
import type { RunStats, TortureOptions } from './run-counter.js';

const EX6 = 'experiments/ex6.ts';
export const EX6_UNIQUE = 1000;
/** ex6 prints no STARTED marker: its SIGKILL is counted from the spawn, which includes ~0.5 s of start-up. */
const EX6_START_MS = 600;

/** The unique count from ex6's RESULT line: a number, or an object carrying one. */
export function uniqueCountOf(stdout: string): number | undefined {
  const m = /^RESULT: (.*)$/m.exec(stdout);
  if (!m) return undefined;
  const v = JSON.parse(m[1]) as unknown;
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['unique', 'uniqueUsers', 'unique_users', 'count', 'users']) if (typeof o[k] === 'number') return o[k] as number;
  }
  return undefined;
}

export async function runEx6Seed(db: TortureDb, seed: number, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [] };
  const place = await prepareDatabase(db, `ex6_s${seed}`, opts.pgAdminUrl);
  const rng = xoroshiro128plus(seed * 2 + (db === 'sqlite' ? 0 : 1));
  const draw = (max: number) => unsafeUniformIntDistribution(0, max, rng);
  try {
    for (;;) {
      if (++stats.processes > opts.maxProcesses) {
        stats.violations.push(`ex6 did not finish after ${opts.maxProcesses} processes`);
        break;
      }
      const calm = stats.aborts + stats.kills >= opts.maxDeaths;
      const armKill = !calm && stats.processes > 1 && draw(999) < opts.killChance * 1000;
      const delay = EX6_START_MS + draw(opts.killWindowMs * 2);
      const env: Record<string, string> = { ...place.env, WORKBOOK_SEED: String(seed) };
      const child = await runChild(EX6, env, armKill ? { afterMs: delay } : undefined);
      if (child.signal === 'SIGABRT') stats.aborts++;
      else if (child.signal === 'SIGKILL' && child.killed) stats.kills++;
      else if (child.code === 0) {
        const n = uniqueCountOf(child.stdout);
        if (n !== EX6_UNIQUE) stats.violations.push(`ex6's dedup count is ${n}, not ${EX6_UNIQUE} (RESULT line: ${/^RESULT: .*$/m.exec(child.stdout)?.[0] ?? 'none'})`);
        break;
      } else {
        // Exit 1 is ex6's workflow failing (its retries ran out): not a crash-safety break, but
        // the run did not finish, so it is reported and counted.
        const tail = child.stderr.trim().split('\n').slice(-6).join('\n   ');
        stats.violations.push(`ex6 process ${stats.processes} ended with code ${child.code} signal ${child.signal}:\n   ${tail}`);
        break;
      }
    }
    const opened = await openDatabase(place.choice, 'ex6', 'torture-check');
    try {
      const bad = (m: string) => stats.violations.push(m);
      await checkStorage(opened.db, bad);
      stats.recoveries = await checkWorkflows(opened.db, bad);
    } finally {
      await opened.db.close();
      await opened.release();
    }
  } catch (err) {
    stats.violations.push(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = place.where;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
