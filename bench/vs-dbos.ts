/**
 * npm run bench -- --vs dbos: the workbook's engine next to DBOS Transact, same workloads, one run
 * =================================================================================================
 *
 * Both engines run the same program (bench/vs-child.ts, through lib/engine-choice.ts) against the
 * same embedded PostgreSQL (or DATABASE_URL's server): the engine's tables in the bench database,
 * DBOS's in `<it>_dbos_benchvs`. Each figure is measured in rounds, and in each round the engine
 * and DBOS take turns, so that load from elsewhere hits both; the ratio engine / DBOS is taken per
 * round and the median shown. Figures:
 *   - steps/s in one workflow of N steps;
 *   - one-step workflows/s, one after the other, and 100 at once;
 *   - recovery of a workflow of N recorded steps whose process died: a new process's launch() to
 *     its result (process start-up not included; DBOS's includes its internal queue's pickup).
 * Rates: a ratio above 1 means the engine is faster. Times: below 1 means the engine is faster.
 * In the same rounds, on the same server, the raw commit rate (bench/raw.ts: one INSERT + COMMIT
 * per row) and the floors (the engine's own SQL alone, two commits per one-step workflow): each
 * engine figure is also shown against them, round by round (the recovery: in raw commits).
 *   npm run bench -- --vs dbos            quick (about a minute)
 *   npm run bench -- --vs dbos --full     more steps and rounds
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Table from 'cli-table3';
import { PROJECT_ROOT } from '../lib/config.js';
import { tempDir } from '../lib/storage/fresh.js';
import { postgresServer, postgresTarget } from './databases.js';
import { openRawCommits, type DirectConnection } from './raw.js';
import { runTs } from './spawn.js';

const ENGINES = ['workbook', 'dbos'] as const;
type Engine = (typeof ENGINES)[number];
const full = process.argv.includes('--full');
const quickTest = process.argv.includes('--quick-test');
const SIZES = quickTest
  ? { rounds: 1, steps: 50, sequential: 10, concurrent: 100, recoverySteps: 100, recoveryRounds: 1, raw: 20 }
  : full ? { rounds: 7, steps: 1000, sequential: 300, concurrent: 1000, recoverySteps: 2000, recoveryRounds: 3, raw: 400 }
    : { rounds: 3, steps: 400, sequential: 100, concurrent: 500, recoverySteps: 2000, recoveryRounds: 2, raw: 200 };
const progress = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One figure's rounds: each engine's value, the raw commit rate measured in the same round, and the floor's rate (steps, sequential). */
interface Row {
  figure: string;
  unit: string;
  values: Record<Engine, number[]>;
  raw: number[];
  floor?: number[];
}

/** A serving child: send a command, get its one-line JSON answer. */
function serve(engine: Engine, env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench/vs-child.ts'), 'serve'], {
    cwd: PROJECT_ROOT, env: { ...process.env, ...env, WORKBOOK_ENGINE: engine }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the ${engine} bench child ended early (exit ${child.exitCode})`);
      if (value.startsWith('{')) return JSON.parse(value) as { rate?: number; ready?: boolean };
    }
  };
  return {
    ready: next(),
    async run(op: string, n: number, c?: number): Promise<number> {
      child.stdin!.write(`${JSON.stringify({ op, n, c })}\n`);
      return (await next()).rate!;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end('{"op":"exit"}\n'); // and the end of its input, which would keep it alive
      await exited;
    },
  };
}

export async function benchVsDbos(): Promise<void> {
  const dir = tempDir('workbook-bench-vs-');
  progress(process.env.DATABASE_URL ? '[vs dbos] using DATABASE_URL' : '[vs dbos] starting an embedded PostgreSQL in a temporary directory');
  const server = await postgresServer(dir);
  const env = { WORKBOOK_DB: 'pg', DATABASE_URL: server.url, WORKBOOK_DATA_DIR: dir, WORKBOOK_LOG: 'warn', NODE_NO_WARNINGS: '1' };
  const rows: Row[] = [];
  let raw: DirectConnection | undefined;
  try {
    const children = Object.fromEntries(ENGINES.map((e) => [e, serve(e, env)])) as Record<Engine, ReturnType<typeof serve>>;
    for (const e of ENGINES) await children[e].ready;
    raw = await openRawCommits(postgresTarget(server.url, dir)); // after the engine's launch: its tables exist for the floor
    const floors: Record<string, ((n: number) => Promise<number>) | undefined> = { steps: raw.sqlFloor.steps, sequential: raw.sqlFloor.oneStepWorkflows };
    const figures = [
      { figure: `steps/s, one workflow of ${SIZES.steps} steps`, op: 'steps', n: SIZES.steps },
      { figure: 'one-step workflows/s, sequential', op: 'sequential', n: SIZES.sequential },
      { figure: 'one-step workflows/s, 100 at once', op: 'concurrent', n: SIZES.concurrent, c: 100 },
    ];
    progress('[vs dbos] warming up both engines');
    for (const e of ENGINES) for (const f of figures) await children[e].run(f.op, Math.min(f.n, 50), f.c);
    for (const f of figures) rows.push({ figure: f.figure, unit: '/s', values: { workbook: [], dbos: [] }, raw: [], floor: floors[f.op] ? [] : undefined });
    for (let r = 1; r <= SIZES.rounds; r++) {
      for (const [i, f] of figures.entries()) {
        rows[i].raw.push(await raw.measure(SIZES.raw));
        const floor = floors[f.op];
        if (floor) rows[i].floor!.push(await floor(f.n));
        // Alternate who goes first, so neither always runs on the warmer (or busier) machine.
        for (const e of r % 2 ? ENGINES : [...ENGINES].reverse()) {
          rows[i].values[e].push(await children[e].run(f.op, f.n, f.c));
          progress(`[vs dbos] round ${r}/${SIZES.rounds}: ${e.padEnd(8)} ${f.figure}: ${Math.round(rows[i].values[e].at(-1)!)}/s`);
        }
      }
    }
    for (const e of ENGINES) await children[e].close();

    const recovery: Row = { figure: `recovery of a workflow of ${SIZES.recoverySteps} recorded steps (launch to result)`, unit: 'ms', values: { workbook: [], dbos: [] }, raw: [] };
    for (let r = 1; r <= SIZES.recoveryRounds; r++) {
      recovery.raw.push(await raw.measure(SIZES.raw));
      for (const e of r % 2 ? ENGINES : [...ENGINES].reverse()) {
        const id = `bench-long-${randomUUID()}`;
        const crashed = await runTs('bench/vs-child.ts', ['crash', String(SIZES.recoverySteps), id], { ...env, WORKBOOK_ENGINE: e, BENCH_CRASH: '1' });
        if (crashed.signal !== 'SIGABRT') throw new Error(`the ${e} crash run did not die (exit ${crashed.code}):\n${crashed.stderr.slice(-2000)}`);
        const rec = await runTs('bench/vs-child.ts', ['recover', id], { ...env, WORKBOOK_ENGINE: e });
        const line = rec.stdout.split('\n').find((l) => l.startsWith('{"ms"'));
        if (rec.code !== 0 || !line) throw new Error(`the ${e} recovery failed (exit ${rec.code}):\n${rec.stderr.slice(-2000)}`);
        recovery.values[e].push((JSON.parse(line) as { ms: number }).ms);
        progress(`[vs dbos] recovery ${r}/${SIZES.recoveryRounds}: ${e.padEnd(8)} ${Math.round(recovery.values[e].at(-1)!)} ms`);
      }
    }
    rows.push(recovery);
  } finally {
    await raw?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const head = ['figure (same PostgreSQL, interleaved rounds)', 'workbook engine', 'DBOS Transact 5.3.0', 'engine / DBOS', 'engine / raw commits', 'floor / raw (of floor)'];
  const table = new Table({ head });
  const md = [`| ${head.join(' | ')} |`, '|---|---:|---:|---:|---:|---:|'];
  const perRound = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]));
  for (const row of rows) {
    const ratio = perRound(row.values.workbook, row.values.dbos);
    const ms = row.unit === 'ms';
    // A rate against the raw commit rate of its round; a time as the raw commits that fit in it.
    const vsRaw = ms ? `= ${Math.round(median(row.values.workbook.map((t, i) => (t / 1000) * row.raw[i]))).toLocaleString('en-US')} raw commits`
      : `${perRound(row.values.workbook, row.raw).toFixed(2)}x`;
    const floor = row.floor ? `${perRound(row.floor, row.raw).toFixed(2)}x (${Math.round(perRound(row.values.workbook, row.floor) * 100)}%)` : '';
    const cells = [row.figure, `${Math.round(median(row.values.workbook)).toLocaleString('en-US')} ${row.unit}`,
      `${Math.round(median(row.values.dbos)).toLocaleString('en-US')} ${row.unit}`,
      `${ratio.toFixed(2)}x ${ms ? '(below 1: engine faster)' : '(above 1: engine faster)'}`, vsRaw, floor];
    table.push(cells);
    md.push(`| ${cells.join(' | ')} |`);
  }
  console.log(`\n${table.toString()}`);
  if (process.argv.includes('--markdown')) console.log(`\n${md.join('\n')}`);
  console.log(`raw commits/s on this server, median of the rounds: ${Math.round(median(rows.flatMap((r) => r.raw))).toLocaleString('en-US')}`);
  console.log(`VS_DBOS: ${JSON.stringify(rows.map((r) => ({
    figure: r.figure, unit: r.unit, workbook: median(r.values.workbook), dbos: median(r.values.dbos), ratio: perRound(r.values.workbook, r.values.dbos),
    raw: median(r.raw), ratioToRaw: r.unit === 'ms' ? undefined : perRound(r.values.workbook, r.raw),
    floor: r.floor && median(r.floor), floorToRaw: r.floor && perRound(r.floor, r.raw),
  })))}`);
}
