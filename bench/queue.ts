// npm run bench's queue phase (bench/run.ts calls benchQueue after each database's other figures;
// `--no-queue` skips it): what does a queue cost, next to the cost of one commit?
//
// On a database of its own (a new SQLite file; on PostgreSQL, application bench_queue on the same
// server, so the workers recover nothing of the other phases): the raw commit rate (bench/raw.ts)
// before and after, and for 1, 2 and 4 worker processes (bench/queue-child.ts, bundled once with
// esbuild for a fast start: workerConcurrency 10, polling every 10 ms):
//   - throughput: `jobs` one-step workflows enqueued first, then the workers let go at once
//     (SIGUSR1); counted over the window in which all of them were claiming (from the last worker's
//     first claim to the first worker's last finish), from started_at_epoch_ms and updated_at of the
//     rows; when that window holds under a quarter of the jobs (a tiny run), over the whole drain;
//   - dequeue latency: with the workers idle, `latencySamples` workflows enqueued one by one, 20 ms
//     apart: from created_at (the client's clock, before its INSERT) to the start of the workflow's
//     step (operation_outputs.started_at_epoch_ms, the worker's clock as it runs the step), median
//     and p99 (bounded below by the 10 ms poll interval; DBOS's default interval is 1 s). Not the
//     row's started_at_epoch_ms: a claim stamps that before it waits for the queue's lock, so under
//     load a row enqueued meanwhile reads as dequeued before it was enqueued.
// Each rate's ratio is taken against the mean of the raw rates measured before and after.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import Table from 'cli-table3';
import { runFile } from '../lib/child-run.js';
import { DBOSClient } from '../lib/queues/client.js';
import type { WorkflowRow } from '../lib/storage/types.js';
import { bundleForSpeed } from '../lib/torture/bundle.js';
import { postgresTarget, sqliteTarget, type BenchDatabase, type BenchKind } from './databases.js';
import type { Mode } from './modes.js';
import { openRawCommits } from './raw.js';

export const QUEUE_APP = 'bench_queue';
export const QUEUE_WORKERS = [1, 2, 4] as const;

/** Per mode and database: one-step workflows per worker count, and latency samples. */
export const QUEUE_SIZES: Record<Mode, Record<BenchKind, { jobs: number; latencySamples: number; rawCommits: number }>> = {
  'quick-test': { sqlite: { jobs: 40, latencySamples: 10, rawCommits: 200 }, postgres: { jobs: 40, latencySamples: 10, rawCommits: 100 } },
  quick: { sqlite: { jobs: 400, latencySamples: 100, rawCommits: 3_000 }, postgres: { jobs: 300, latencySamples: 100, rawCommits: 400 } },
  full: { sqlite: { jobs: 1_500, latencySamples: 200, rawCommits: 10_000 }, postgres: { jobs: 800, latencySamples: 200, rawCommits: 1_000 } },
};

export interface QueueRow {
  workers: number;
  /** how many workers ran at least one of the jobs */
  activeWorkers: number;
  perSecond: number;
  ratioToRaw: number;
  /** the window the rate was counted over: all workers claiming, or the whole drain (a tiny run) */
  window: 'all claiming' | 'whole drain';
  latency: { n: number; medianMs: number; p99Ms: number };
}

export interface QueueFigures {
  jobs: number;
  raw: { before: number; after: number; commitsPerSecond: number };
  rows: QueueRow[];
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function startWorkers(program: string, env: Record<string, string>, queue: string, n: number): Promise<{ go(): void; stop(): Promise<void> }> {
  const kids: ChildProcess[] = [];
  const done: Promise<unknown>[] = [];
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((ready, failed) => {
    const run = runFile(program, { env: { ...env, BENCH_QUEUE: queue, WORKBOOK_LOG: 'warn' }, timeoutMs: 600_000, onLine: (l, c) => l === 'READY' && (kids.push(c), ready()) });
    done.push(run);
    void run.then((r) => failed(new Error(`a queue worker ended before READY (exit ${r.code}): ${r.stderr.slice(-1500)}`))); // no-op once READY
  })));
  return {
    go: () => kids.forEach((k) => k.kill('SIGUSR1')),
    stop: async () => {
      kids.forEach((k) => k.kill('SIGTERM'));
      for (const r of (await Promise.all(done)) as { code: number | null; stderr: string }[]) {
        if (r.code !== 0) throw new Error(`a queue worker ended with exit ${r.code}: ${r.stderr.slice(-1500)}`);
      }
    },
  };
}

async function waitDone(client: DBOSClient, queue: string, n: number): Promise<WorkflowRow[]> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const rows = await client.systemDatabase.listQueueRows(queue, ['SUCCESS']);
    if (rows.length >= n) return rows;
    if (Date.now() > deadline) throw new Error(`queue ${queue}: ${rows.length} of ${n} workflows done after 300 s`);
    await sleep(20);
  }
}

/** Workflows/s from the rows' own times: over the window in which every worker was claiming, else the whole drain. */
function throughput(done: WorkflowRow[]): Pick<QueueRow, 'perSecond' | 'window' | 'activeWorkers'> {
  const by = new Map<string, WorkflowRow[]>();
  for (const r of done) by.set(r.executorID!, [...(by.get(r.executorID!) ?? []), r]);
  const from = Math.max(...[...by.values()].map((rs) => Math.min(...rs.map((r) => r.startedAtEpochMs!))));
  const to = Math.min(...[...by.values()].map((rs) => Math.max(...rs.map((r) => r.updatedAt))));
  const inWindow = done.filter((r) => r.updatedAt > from && r.updatedAt <= to).length;
  if (to > from && inWindow >= done.length / 4) return { perSecond: (inWindow * 1000) / (to - from), window: 'all claiming', activeWorkers: by.size };
  const first = Math.min(...done.map((r) => r.startedAtEpochMs!));
  const last = Math.max(...done.map((r) => r.updatedAt));
  return { perSecond: (done.length * 1000) / Math.max(1, last - first), window: 'whole drain', activeWorkers: by.size };
}

/** The queue figures on one database: `dir` is the run's temporary directory, `pgUrl` its PostgreSQL database. */
export async function benchQueue(kind: BenchKind, mode: Mode, dir: string, pgUrl: string | undefined, progress: (l: string) => void): Promise<QueueFigures> {
  const sizes = QUEUE_SIZES[mode][kind];
  let target: BenchDatabase;
  let env: Record<string, string>;
  if (kind === 'sqlite') {
    mkdirSync(join(dir, 'queue'), { recursive: true });
    target = sqliteTarget(join(dir, 'queue')); // its file: queue/bench.db
    env = { WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: join(dir, 'queue', 'bench.db'), WORKBOOK_DATA_DIR: dir, WORKBOOK_SQLITE_SYNC: 'NORMAL' };
  } else {
    target = postgresTarget(pgUrl!, dir);
    env = target.experimentEnv(QUEUE_APP);
  }
  const program = await bundleForSpeed('bench/queue-child.ts');
  const client = await DBOSClient.create({ database: target.choice, applicationName: QUEUE_APP }); // migrates first: the raw connection prepares on its tables
  const raw = await openRawCommits(target);
  try {
    const before = await raw.measure(sizes.rawCommits);
    progress(`queue: raw commits before, ${Math.round(before)}/s`);
    const measured: Omit<QueueRow, 'ratioToRaw'>[] = [];
    // Queues of this run only: on a database that stays (DATABASE_URL without the right to create
    // one), an earlier run's rows on `bench_1` would count as drained before a worker started.
    const run = randomBytes(3).toString('hex');
    for (const w of QUEUE_WORKERS) {
      const q = `bench_${w}_${run}`;
      for (let i = 0; i < sizes.jobs; i++) await client.enqueue({ queueName: q, workflowName: 'benchQueued' }, i);
      const ws = await startWorkers(program.file, env, q, w);
      try {
        ws.go();
        const rate = throughput(await waitDone(client, q, sizes.jobs));
        const ids = new Set<string>();
        for (let i = 0; i < sizes.latencySamples; i++) {
          ids.add((await client.enqueue({ queueName: q, workflowName: 'benchQueued' }, i)).workflowID);
          await sleep(20);
        }
        await waitDone(client, q, sizes.jobs + sizes.latencySamples);
        const lat = await Promise.all([...ids].map(async (id) => {
          const [row, [step]] = await Promise.all([client.systemDatabase.getWorkflow(id), client.systemDatabase.loadOperations(id)]);
          return step.startedAtEpochMs - row!.createdAt;
        }));
        measured.push({ workers: w, ...rate, latency: { n: lat.length, medianMs: pct(lat, 50), p99Ms: pct(lat, 99) } });
        progress(`queue, ${w} worker(s): ${Math.round(rate.perSecond)} workflows/s (${rate.window}), dequeue latency median ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms`);
      } finally {
        await ws.stop();
      }
    }
    const after = await raw.measure(sizes.rawCommits);
    progress(`queue: raw commits after, ${Math.round(after)}/s`);
    const commitsPerSecond = (before + after) / 2;
    return { jobs: sizes.jobs, raw: { before, after, commitsPerSecond }, rows: measured.map((r) => ({ ...r, ratioToRaw: r.perSecond / commitsPerSecond })) };
  } finally {
    await client.destroy();
    await raw.close();
    program.dispose();
  }
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const ratio = (x: number) => `${(Math.floor(x * 1000) / 1000).toFixed(3)}x`;

export function renderQueueTable(kind: BenchKind, q: QueueFigures, color = false): string {
  const table = new Table({ head: ['queue: workers', 'one-step workflows/s', 'vs raw', 'dequeue latency median', 'p99'], style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] } });
  for (const r of q.rows) table.push([`${r.workers} (${r.activeWorkers} ran jobs)`, `${int(r.perSecond)}/s${r.window === 'whole drain' ? ' (whole drain)' : ''}`, ratio(r.ratioToRaw), `${r.latency.medianMs} ms`, `${r.latency.p99Ms} ms`]);
  return `${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} queue: ${int(q.jobs)} workflows per worker count, raw commits ${int(q.raw.commitsPerSecond)}/s (before ${int(q.raw.before)}, after ${int(q.raw.after)})\n${table.toString()}`;
}

export function renderQueueMarkdown(kind: BenchKind, q: QueueFigures): string {
  return [
    `**${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} queue**: raw commits ${int(q.raw.commitsPerSecond)}/s (before ${int(q.raw.before)}, after ${int(q.raw.after)}), ${int(q.jobs)} one-step workflows per worker count`,
    '',
    '| workers | workflows/s | ratio to raw commits | dequeue latency median | p99 |',
    '|---:|---:|---:|---:|---:|',
    ...q.rows.map((r) => `| ${r.workers} | ${int(r.perSecond)}${r.window === 'whole drain' ? ' (whole drain)' : ''} | ${ratio(r.ratioToRaw)} | ${r.latency.medianMs} ms | ${r.latency.p99Ms} ms |`),
  ].join('\n');
}

/** Paths of the queue figures that are missing or not finite numbers (test/90-bench). */
export function missingQueueFigures(kind: string, q: QueueFigures | undefined): string[] {
  if (!q) return [`${kind}.queue`];
  const missing: string[] = [];
  // A latency may be below 0 by a few ms (README, "Through a queue"): only a number is required.
  const need = (path: string, v: unknown) => (typeof v !== 'number' || !Number.isFinite(v)) && missing.push(`${kind}.queue.${path}`);
  need('raw.commitsPerSecond', q.raw?.commitsPerSecond);
  if (q.rows?.map((r) => r.workers).join(',') !== QUEUE_WORKERS.join(',')) missing.push(`${kind}.queue.rows (workers ${QUEUE_WORKERS.join(', ')})`);
  for (const r of q.rows ?? []) {
    need(`${r.workers}.perSecond`, r.perSecond);
    need(`${r.workers}.ratioToRaw`, r.ratioToRaw);
    need(`${r.workers}.latency.medianMs`, r.latency?.medianMs);
    need(`${r.workers}.latency.p99Ms`, r.latency?.p99Ms);
  }
  return missing;
}
