// One torture run of the ex6 lesson (experiments/ex6.ts) on one database: run it again and again,
// as its own banner says (it crashes itself at seeded sites; we add SIGKILLs from outside), until
// it exits 0, then check that its dedup count is exactly 1,000 and the generic invariants hold.
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { withDatabase } from '../storage/open.js';
import { markedJson } from '../child-run.js';
import { deserializeError } from '../serialize.js';
import { runChild } from './child.js';
import { freshDatabase, type FreshKind as TortureDb } from '../storage/fresh.js';
import { checkStorage, checkWorkflows } from './invariants.js';
import type { RunStats, TortureOptions } from './run-counter.js';

export const EX6_PROGRAM = 'experiments/ex6.ts';
const EX6_UNIQUE = 1000;
/** ex6 prints no STARTED marker: its SIGKILL is counted from the spawn, which includes ~0.2 s of start-up (bundled). */
const EX6_START_MS = 200;
/** a process of ex6 lives ~0.4-0.9 s: the SIGKILL comes within this much after the start-up */
const EX6_WINDOW_MS = 500;

export async function runEx6Seed(db: TortureDb, seed: number, opts: TortureOptions): Promise<RunStats> {
  const stats: RunStats = { db, seed, processes: 0, aborts: 0, kills: 0, recoveries: 0, reRuns: 0, retries: 0, violations: [], notes: [] };
  const place = await freshDatabase(db, 'torture', `ex6_s${seed}`, opts.pgAdminUrl);
  const rng = xoroshiro128plus(seed * 2 + (db === 'sqlite' ? 0 : 1));
  const draw = (max: number) => unsafeUniformIntDistribution(0, max, rng);
  try {
    for (;;) {
      if (++stats.processes > opts.maxProcesses) {
        stats.violations.push(`ex6 did not finish after ${opts.maxProcesses} processes`);
        break;
      }
      const calm = stats.aborts + stats.kills >= opts.maxDeaths;
      // ex6 crashes itself less often than the counter workload: its first process may be killed too.
      const armKill = !calm && draw(999) < opts.killChance * 1000;
      const delay = EX6_START_MS + draw(EX6_WINDOW_MS);
      const env: Record<string, string> = { ...place.env, WORKBOOK_SEED: String(seed) };
      const child = await runChild(opts.program ?? EX6_PROGRAM, env, armKill ? { afterMs: delay } : undefined);
      if (process.env.TORTURE_VERBOSE) {
        process.stderr.write(`ex6 ${db} seed ${seed} process ${stats.processes}: ${child.signal ?? `exit ${child.code}`} after ${child.ms} ms${armKill ? ` (SIGKILL planned at ${delay} ms)` : ''}\n`);
      }
      if (child.signal === 'SIGABRT') stats.aborts++;
      else if (child.signal === 'SIGKILL' && child.killed) stats.kills++;
      else if (child.code === 0) {
        // ex6 counts its own duplicates: a batch written again after a death (another analyzed_at)
        // and a batch written again by a step retry; in batches of 100 users.
        const r = markedJson<Record<string, unknown> | null>(child.stdout, 'RESULT: ');
        const n = r?.unique;
        stats.reRuns = Math.round(Number(r?.crashDuplicates ?? 0) / 100);
        stats.retries = Math.round(Number(r?.retryDuplicates ?? 0) / 100);
        if (n !== EX6_UNIQUE) stats.violations.push(`ex6's dedup count is ${n}, not ${EX6_UNIQUE} (RESULT line: ${r === undefined ? 'none' : `RESULT: ${JSON.stringify(r)}`})`);
        break;
      } else if (child.code === 1 && /exceeded its maximum of \d+ retries/.test(child.stdout + child.stderr)) {
        // ex6's insert step out of retries (0.4^10 per batch): the lesson's own outcome, not a
        // crash-safety break. As its banner says, the next run starts a new workflow.
        stats.notes.push(`process ${stats.processes}: ex6's workflow ran out of step retries (ERROR); the next run started a new one`);
      } else {
        const tail = child.stderr.trim().split('\n').slice(-6).join('\n   ');
        stats.violations.push(`ex6 process ${stats.processes} ended with code ${child.code} signal ${child.signal}:\n   ${tail}`);
        break;
      }
    }
    await withDatabase(place.choice, 'ex6', 'torture-check', async (db) => {
      const bad = (m: string) => stats.violations.push(m);
      await checkStorage(db, bad);
      // A workflow that ran out of step retries is allowed to have ended ERROR (see above).
      stats.recoveries = await checkWorkflows(db, bad, (r) => r.error !== null && (deserializeError(r.error) as { code?: string }).code === 'MAX_STEP_RETRIES');
    });
  } catch (err) {
    stats.violations.push(`torture harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = place.where;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
