/**
 * npx tsx bench/queue.ts: what does a queue cost, next to the cost of one commit?
 * ===============================================================================
 *
 * For each database, in the same run: the raw commit rate (bench/raw.ts, before and after), then
 * for 1, 2 and 4 worker processes (bench/queue-child.ts: workerConcurrency 10, polling every 10 ms):
 *   - throughput: N one-step workflows enqueued first, then the workers let go at once; counted
 *     over the window in which all of them were claiming (from the last worker's first claim to
 *     the first worker's last finish), from started_at_epoch_ms and updated_at of the rows;
 *   - dequeue latency: with the workers idle, 100 workflows enqueued one by one, 20 ms apart:
 *     started_at_epoch_ms - created_at, median and p99 (bounded below by the 10 ms poll interval;
 *     DBOS's default interval is 1 s).
 *   npx tsx bench/queue.ts [--db sqlite|postgres] [--jobs 600]
 * Prints a table per database and a last line BENCH_QUEUE: <json>.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { runFile } from '../lib/child-run.js';
import { DBOSClient } from '../lib/queues/client.js';
import { tempDir } from '../lib/storage/fresh.js';
import type { WorkflowRow } from '../lib/storage/types.js';
import { BENCH_APP, BENCH_KINDS, postgresServer, postgresTarget, sqliteTarget, type BenchDatabase, type BenchKind } from './databases.js';
import { openRawCommits } from './raw.js';

const argv = process.argv.slice(2);
const arg = (f: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
const kinds: BenchKind[] = arg('--db') ? [arg('--db') === 'pg' ? 'postgres' : (arg('--db') as BenchKind)] : BENCH_KINDS;
const JOBS = Number(arg('--jobs') ?? 600);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function workers(target: BenchDatabase, queue: string, n: number): Promise<{ go(): void; stop(): Promise<void> }> {
  const kids: ChildProcess[] = [];
  const done: Promise<unknown>[] = [];
  const env = { ...target.experimentEnv(BENCH_APP), BENCH_QUEUE: queue, WORKBOOK_LOG: 'warn' };
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((ready) => {
    done.push(runFile('bench/queue-child.ts', { env, timeoutMs: 600_000, onLine: (l, c) => l === 'READY' && (kids.push(c), ready()) }));
  })));
  return {
    go: () => kids.forEach((k) => k.kill('SIGUSR1')),
    stop: async () => {
      kids.forEach((k) => k.kill('SIGTERM'));
      await Promise.all(done);
    },
  };
}

async function waitDone(client: DBOSClient, queue: string, n: number): Promise<WorkflowRow[]> {
  for (;;) {
    const rows = await client.systemDatabase.listQueueRows(queue, ['SUCCESS']);
    if (rows.length >= n) return rows;
    await sleep(50);
  }
}

async function measure(kind: BenchKind) {
  const dir = tempDir('bench-queue-');
  const pg = kind === 'postgres' ? await postgresServer(dir) : undefined;
  const target = pg ? postgresTarget(pg.url, dir) : sqliteTarget(dir);
  const client = await DBOSClient.create({ database: target.choice, applicationName: BENCH_APP }); // migrates: the raw connection prepares statements on its tables
  const raw = await openRawCommits(target);
  const rows: Record<string, number | string>[] = [];
  try {
    const rawBefore = await raw.measure(500);
    for (const w of [1, 2, 4]) {
      const q = `bench_${w}`;
      for (let i = 0; i < JOBS; i++) await client.enqueue({ queueName: q, workflowName: 'benchQueued' }, i);
      const ws = await workers(target, q, w);
      ws.go();
      const done = await waitDone(client, q, JOBS);
      const by = new Map<string, WorkflowRow[]>();
      for (const r of done) by.set(r.executorID!, [...(by.get(r.executorID!) ?? []), r]);
      const from = Math.max(...[...by.values()].map((rs) => Math.min(...rs.map((r) => r.startedAtEpochMs!))));
      const to = Math.min(...[...by.values()].map((rs) => Math.max(...rs.map((r) => r.updatedAt))));
      const inWindow = done.filter((r) => r.updatedAt > from && r.updatedAt <= to).length;
      const perSec = to > from ? (inWindow * 1000) / (to - from) : NaN;
      // Latency: idle workers, one enqueue at a time.
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        ids.push((await client.enqueue({ queueName: q, workflowName: 'benchQueued' }, i)).workflowID);
        await sleep(20);
      }
      const all = await waitDone(client, q, JOBS + 100);
      const lat = all.filter((r) => ids.includes(r.workflowID)).map((r) => r.startedAtEpochMs! - r.createdAt);
      await ws.stop();
      rows.push({ workers: w, workflowsPerSec: Math.round(perSec), activeWorkers: by.size, latencyMedianMs: pct(lat, 50), latencyP99Ms: pct(lat, 99) });
      console.log(`${kind}: ${w} worker(s): ${Math.round(perSec)} workflows/s, dequeue latency median ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms`);
    }
    const rawAfter = await raw.measure(500);
    const rawRate = (rawBefore + rawAfter) / 2;
    for (const r of rows) r.ratioToRaw = (Number(r.workflowsPerSec) / rawRate).toFixed(3);
    return { kind, rawCommitsPerSec: Math.round(rawRate), rawBefore: Math.round(rawBefore), rawAfter: Math.round(rawAfter), jobs: JOBS, rows };
  } finally {
    await client.destroy();
    await raw.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const k of kinds) {
  const r = await measure(k);
  results.push(r);
  console.log(`\n${k}: raw commits/s ${r.rawCommitsPerSec} (before ${r.rawBefore}, after ${r.rawAfter}); ${r.jobs} one-step workflows per worker count`);
  console.log('| workers | workflows/s | ratio to raw commits | dequeue latency median | p99 |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of r.rows) console.log(`| ${row.workers} | ${row.workflowsPerSec} | ${row.ratioToRaw} | ${row.latencyMedianMs} ms | ${row.latencyP99Ms} ms |`);
}
console.log(`BENCH_QUEUE: ${JSON.stringify(results)}`);
