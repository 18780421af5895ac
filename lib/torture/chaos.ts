// One chaos run on one database (npm run torture -- --chaos): two worker processes start hundreds of
// workflows (lib/torture/chaos-worker.ts) while this process attacks the database from outside
// every few seconds (lib/torture/chaos-faults.ts); then the invariants (lib/torture/chaos-check.ts).
// Which fault comes when, and how long it lasts, is drawn from pure-rand seeded by the run's seed,
// as the crash torture's SIGKILLs are; every fault is logged with its time and the seed.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { markedJson, runFile, type ChildRun } from '../child-run.js';
import { freshDatabase, tempDir, type FreshKind } from '../storage/fresh.js';
import { withDatabase } from '../storage/open.js';
import { checkChaos, type ChaosTally } from './chaos-check.js';
import { fillDisk, holdSqliteLock, mountSmallDisk, PostgresChaos, type ChaosFault } from './chaos-faults.js';

export const CHAOS_WORKER = 'lib/torture/chaos-worker.ts';
/** SQLite's busy timeout in the engine (lib/storage/sqlite.ts): the lock is held longer than this */
const SQLITE_BUSY_MS = 5000;

export interface ChaosOptions {
  /** workflows per run, shared by the workers (default 200) */
  workflows: number;
  /** worker processes (default 2) */
  workers: number;
  /** steps per workflow (default 10), each sleeping stepMs (default 100) */
  steps: number;
  stepMs: number;
  /** the starts are spread over this many ms (default 10000); faults come during the starts and the steps */
  spreadMs: number;
  /** after the faults stop, how long the workers may still wait for their workflows (default 60000) */
  settleMs: number;
}

export const CHAOS_DEFAULTS: ChaosOptions = { workflows: 200, workers: 2, steps: 10, stepMs: 100, spreadMs: 10_000, settleMs: 60_000 };

export interface ChaosStats extends ChaosTally {
  db: FreshKind;
  seed: number;
  workflows: number;
  faults: Partial<Record<ChaosFault, number>>;
  /** worker processes that did not exit 0 with a RESULT line */
  crashed: number;
  /** database errors the workers' callers met (startWorkflow, getResult) and retried */
  callerErrors: number;
  /** the same, by kind (their first words, digits as N) */
  callerErrorKinds: Record<string, number>;
  violations: string[];
  notes: string[];
  /** the fault schedule as it happened: "+2.1s restart-fast: ..." */
  log: string[];
}

/** The server and the faults a database kind gets; made once per torture, used by every seed. */
export interface ChaosTarget {
  kind: FreshKind;
  faults: ChaosFault[];
  /** where a run's database is made */
  fresh(seed: number): Promise<{ env: Record<string, string>; choice: Parameters<typeof withDatabase>[0]; dir: string; dispose(keep: boolean): Promise<void>; where: string }>;
  inject(fault: ChaosFault, draw: (lo: number, hi: number) => number, dir: string, database: string): Promise<string>;
  close(): Promise<void>;
  notes: string[];
}

export async function postgresTarget(): Promise<ChaosTarget> {
  // Its own embedded server: the faults restart it, which the shared one (data/pg, the tests') must not suffer.
  const { ensureEmbeddedPostgres, stopEmbeddedPostgres } = await import('../storage/embedded-pg.js');
  const root = tempDir('chaos-pg-');
  const server = await ensureEmbeddedPostgres(join(root, 'pg'));
  let chaos: PostgresChaos | undefined;
  let keptAny = false;
  return {
    kind: 'postgres', notes: [], faults: ['restart-immediate', 'restart-fast', 'terminate'],
    async fresh(seed) {
      const place = await freshDatabase('postgres', 'chaos', `s${seed}`, server.adminUrl);
      chaos = new PostgresChaos(server.dir, server.adminUrl, new URL(place.env.DATABASE_URL).pathname.slice(1));
      chaos.init();
      // A kept database stays in the server's data directory, which close() then leaves in place.
      const where = `database ${chaos.database} in ${server.dir} (start it: pg_ctl -D ${server.dir} start)`;
      const dispose = async (keep: boolean) => {
        if (!keep) return place.dispose(false);
        keptAny = true;
        rmSync(place.dir, { recursive: true, force: true }); // empty: the kept database is in the server's directory
      };
      return { ...place, where, dispose };
    },
    async inject(fault, draw) {
      if (fault === 'terminate') return chaos!.terminate();
      return chaos!.restart(fault === 'restart-immediate' ? 'immediate' : 'fast', draw(300, 2000));
    },
    async close() {
      await stopEmbeddedPostgres(server.dir);
      if (!keptAny) rmSync(root, { recursive: true, force: true });
    },
  };
}

export function sqliteTarget(): ChaosTarget {
  const notes: string[] = [];
  let unmount: (() => void) | undefined;
  let canFill = true;
  return {
    kind: 'sqlite', notes, faults: ['lock', 'disk-full'],
    async fresh(seed) {
      const place = await freshDatabase('sqlite', 'chaos', `s${seed}`);
      // The SQLite file's directory becomes a 32 MB tmpfs (before the file exists), so it can be filled.
      const disk = mountSmallDisk(place.dir, 32);
      if ('why' in disk) {
        canFill = false;
        if (!notes.length) notes.push(`disk-full skipped: ${disk.why}`);
        return place;
      }
      unmount = disk.unmount;
      // A run kept for a person to look at is copied off the tmpfs first: the mount goes with the run.
      const kept = `${place.dir}-kept`;
      return {
        ...place, where: join(kept, 'chaos.db'),
        async dispose(keep) {
          if (keep) cpSync(place.dir, kept, { recursive: true });
          unmount?.();
          unmount = undefined;
          await place.dispose(false);
        },
      };
    },
    async inject(fault, draw, dir) {
      if (fault === 'lock') return holdSqliteLock(join(dir, 'chaos.db'), SQLITE_BUSY_MS + draw(500, 2500));
      if (!canFill) return 'disk-full skipped (no small disk)';
      return fillDisk(dir, draw(200, 1500));
    },
    async close() {
      unmount?.();
    },
  };
}

/** One run: fresh database, workers, faults while they run, then the invariants. */
export async function runChaosSeed(target: ChaosTarget, seed: number, opts: ChaosOptions): Promise<ChaosStats & { kept?: string }> {
  const stats: ChaosStats & { kept?: string } = {
    db: target.kind, seed, workflows: opts.workflows, success: 0, error: 0, unfinished: 0, other: 0, faults: {},
    crashed: 0, callerErrors: 0, callerErrorKinds: {}, violations: [], notes: [...target.notes], log: [],
  };
  const rng = xoroshiro128plus(seed * 2 + (target.kind === 'sqlite' ? 0 : 1));
  const draw = (lo: number, hi: number) => unsafeUniformIntDistribution(lo, hi, rng);
  const place = await target.fresh(seed);
  const database = place.env.DATABASE_URL ? new URL(place.env.DATABASE_URL).pathname.slice(1) : '';
  const chaosMs = opts.spreadMs + opts.steps * opts.stepMs;
  let ready = 0;
  let startsDone = 0;
  try {
    // Step 0: the application's table the steps write to (lib/torture/chaos-worker.ts).
    await withDatabase(place.choice, 'chaos', 'chaos-setup', (db) =>
      db.app.exec('CREATE TABLE IF NOT EXISTS chaos_effects (workflow_id TEXT NOT NULL, step_id INTEGER NOT NULL, pid INTEGER NOT NULL)'));
    // Step 1: the workers, each with its share of the workflow ids.
    const share = Math.ceil(opts.workflows / opts.workers);
    const runs: Promise<ChildRun>[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const first = w * share;
      const count = Math.max(0, Math.min(share, opts.workflows - first));
      runs.push(runFile(CHAOS_WORKER, {
        env: {
          ...place.env, WORKBOOK_LOG: 'warn', WORKBOOK_SEED: String(seed), CHAOS_IDS: `${first}:${count}`, CHAOS_STEPS: String(opts.steps),
          CHAOS_STEP_MS: String(opts.stepMs), CHAOS_SPREAD_MS: String(opts.spreadMs), CHAOS_DEADLINE_MS: String(chaosMs + opts.settleMs),
        },
        timeoutMs: chaosMs + opts.settleMs + 60_000,
        onLine: (line) => {
          if (line === 'READY') ready++;
          if (line === 'STARTS DONE') startsDone++;
        },
      }));
    }
    const all = Promise.all(runs);
    let exited = false;
    void all.then(() => (exited = true), () => (exited = true));
    while (ready < opts.workers && !exited) await sleep(50);

    // Step 2: the faults, one after another, every few seconds while the workflows run: for the
    // planned time, and on while a worker is still starting its workflows (faults slow the starts).
    const t0 = Date.now();
    let k = draw(0, target.faults.length - 1);
    while (!exited && (Date.now() - t0 < chaosMs || startsDone < opts.workers)) {
      await sleep(draw(1000, 2500));
      if (exited) break;
      const fault = target.faults[k++ % target.faults.length];
      const at = ((Date.now() - t0) / 1000).toFixed(1);
      const t1 = Date.now();
      const what = `${await target.inject(fault, draw, place.dir, database)} (${((Date.now() - t1) / 1000).toFixed(1)} s)`;
      stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
      stats.log.push(`+${at}s ${fault}: ${what}`);
      if (process.env.TORTURE_VERBOSE) process.stderr.write(`chaos ${target.kind} seed ${seed} +${at}s ${fault}: ${what}\n`);
    }

    // Step 3: no process crashed.
    const ends = await all;
    ends.forEach((r, w) => {
      const res = markedJson<{ callerErrors: Record<string, number> }>(r.stdout, 'RESULT: ');
      for (const [kind, n] of Object.entries(res?.callerErrors ?? {})) {
        stats.callerErrors += n;
        stats.callerErrorKinds[kind] = (stats.callerErrorKinds[kind] ?? 0) + n;
      }
      if (r.code !== 0 || !res) {
        stats.crashed++;
        // From the first line of the crash report (node prints the throwing line, then the error).
        const lines = r.stderr.trim().split('\n');
        const from = Math.max(0, lines.findIndex((l) => /^\s*(throw |\w*Error\b|node:internal|Emitted 'error')/.test(l)));
        const tail = lines.slice(from, from + 16).join('\n   ');
        stats.violations.push(`worker ${w + 1} (pid ${r.pid}) ended with code ${r.code} signal ${r.signal}${res ? '' : ', no RESULT line'}:\n   ${tail}`);
      }
    });

    // Step 4: the invariants, in the database.
    await withDatabase(place.choice, 'chaos', 'chaos-check', async (db) => {
      Object.assign(stats, await checkChaos(db, opts.workflows, opts.steps, (m) => stats.violations.push(m)));
    });
  } catch (err) {
    stats.violations.push(`chaos harness error: ${(err as Error).stack ?? err}`);
  } finally {
    const keep = stats.violations.length > 0;
    if (keep) stats.kept = place.where;
    await place.dispose(keep).catch(() => undefined);
  }
  return stats;
}
