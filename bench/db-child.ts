// One database's benchmark, in a process of its own (bench/run.ts starts one per database).
//   node --import tsx bench/db-child.ts sqlite|postgres <mode>
//   env BENCH_DIR (a temporary directory), BENCH_PG_URL (postgres only)
// Each line on stdout is JSON: {"progress": "..."} while it runs, then {"result": DatabaseResult}.
import { DBOS } from '../lib/index.js';
import { postgresTarget, sqliteTarget, type BenchDatabase, type BenchKind } from './databases.js';
import { checkTargets, sampled, type DatabaseResult, type FlooredFigure, type RateFigure } from './figures.js';
import { SIZES, type Mode } from './modes.js';
import { openRawCommits } from './raw.js';
import { markedJson, runTs } from './spawn.js';
import { engineTuning } from '../lib/engine.js';
import { EXIT_BAD_INPUT, isBadInput } from '../lib/lesson.js';
import { concurrentWorkflowsPerSecond, recoveryOf, sequentialWorkflowsPerSecond, stepsPerSecond } from './workloads.js';

const kind = process.argv[2] as BenchKind;
const mode = process.argv[3] as Mode;
const sizes = SIZES[mode][kind];
const dir = process.env.BENCH_DIR!;
const target: BenchDatabase = kind === 'sqlite' ? sqliteTarget(dir) : postgresTarget(process.env.BENCH_PG_URL!, dir);

const say = (progress: string) => console.log(JSON.stringify({ progress }));
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

// Step 1: the engine and the raw commits on the same database, warmed up (JIT, prepared statements).
DBOS.setConfig({ name: target.appSchema, database: target.choice, executorLeaseMs: 60_000, recoveryIntervalMs: 0 }); // no background recovery: the SQL floor's workflows look orphaned
await DBOS.launch().catch((err: unknown) => {
  if (!isBadInput(err)) throw err;
  // A database that cannot be used as given (a wrong password, a server that is down): the message and the fix, no stack.
  process.stderr.write(`BAD INPUT: ${(err as Error).message}\n`);
  process.exit(EXIT_BAD_INPUT);
});
const raw = await openRawCommits(target);
say(`${target.description}: warming up`);
await raw.measure(Math.min(200, sizes.rawCommits));
await stepsPerSecond(Math.min(200, sizes.steps));
await raw.sqlFloor.steps(Math.min(200, sizes.steps));
await sequentialWorkflowsPerSecond(Math.min(50, sizes.sequentialWorkflows));
await raw.sqlFloor.oneStepWorkflows(Math.min(50, sizes.sequentialWorkflows));
await concurrentWorkflowsPerSecond(Math.min(100, sizes.concurrentWorkflows), sizes.concurrency);

// Step 2: rounds of raw, steps, sequential and concurrent workflows, interleaved so that a burst of
// load from elsewhere hits both sides. Each engine figure is divided by the mean of the raw rates
// measured just before and just after its round. Steps and sequential workflows are each followed
// by their floor (the engine's own SQL run straight on the raw connection, bench/raw.ts), compared
// within the same round.
const rawRates = [await raw.measure(sizes.rawCommits)];
const rounds = { steps: [] as number[], unchecked: [] as number[], sequential: [] as number[], concurrent: [] as number[], floorSteps: [] as number[], floorSequential: [] as number[] };
for (let r = 1; r <= sizes.rounds; r++) {
  const at = `round ${r}/${sizes.rounds}`;
  say(`${at}: raw ${fmt(rawRates.at(-1)!)} commits/s; ${fmt(sizes.steps)} steps in one workflow`);
  rounds.steps.push(await stepsPerSecond(sizes.steps));
  say(`${at}: ${fmt(rounds.steps.at(-1)!)} steps/s; the same statements without the engine`);
  rounds.floorSteps.push(await raw.sqlFloor.steps(sizes.steps));
  say(`${at}: ${fmt(rounds.floorSteps.at(-1)!)}/s; the same workflow without the engine's check before each step`);
  engineTuning.checkBeforeStep = false; // what the cancel/fence check before each step costs (issue 13)
  rounds.unchecked.push(await stepsPerSecond(sizes.steps));
  engineTuning.checkBeforeStep = true;
  say(`${at}: ${fmt(rounds.unchecked.at(-1)!)} steps/s unchecked; ${fmt(sizes.sequentialWorkflows)} one-step workflows, one after the other`);
  rounds.sequential.push(await sequentialWorkflowsPerSecond(sizes.sequentialWorkflows));
  say(`${at}: ${fmt(rounds.sequential.at(-1)!)} workflows/s; their statements without the engine`);
  rounds.floorSequential.push(await raw.sqlFloor.oneStepWorkflows(sizes.sequentialWorkflows));
  say(`${at}: ${fmt(rounds.floorSequential.at(-1)!)}/s; ${fmt(sizes.concurrentWorkflows)} one-step workflows, ${sizes.concurrency} at a time`);
  rounds.concurrent.push(await concurrentWorkflowsPerSecond(sizes.concurrentWorkflows, sizes.concurrency));
  rawRates.push(await raw.measure(sizes.rawCommits));
}
const rawAround = (r: number) => (rawRates[r] + rawRates[r + 1]) / 2;
const figure = (n: number, rates: number[]): RateFigure => ({
  n, perSecond: sampled(rates), ratioToRaw: sampled(rates.map((x, r) => x / rawAround(r))),
});
const floored = (n: number, rates: number[], floorRates: number[]): FlooredFigure => ({
  ...figure(n, rates), floor: figure(n, floorRates), ofFloor: sampled(rates.map((x, r) => x / floorRates[r])),
});
const rawRate = sampled(rawRates).median;
const usPerCommit = 1e6 / rawRate;

// Step 3: recovery of a workflow with many recorded steps, queries counted in the storage layer.
say(`recovering a workflow with ${fmt(sizes.recoverySteps)} recorded steps`);
const recovery = await recoveryOf(sizes.recoverySteps);
await raw.close();
await DBOS.shutdown();

// Step 4: ex5, the lesson itself, as a child process on a database of its own.
const ex5Runs: { ms: number; users: number; checkpoints: number }[] = [];
for (let i = 1; i <= sizes.ex5Runs; i++) {
  say(`ex5 run ${i}/${sizes.ex5Runs} (1,000 users, 10 child workflows)`);
  const run = await runTs('experiments/ex5.ts', [], { ...target.experimentEnv('ex5'), WORKBOOK_LOG: 'warn' });
  const r = markedJson<{ users: number; checkpoints: number; ms: { total: number } }>(run, 'RESULT: ', 'experiments/ex5.ts');
  ex5Runs.push({ ms: r.ms.total, users: r.users, checkpoints: r.checkpoints });
}
const ex5Best = ex5Runs.reduce((a, b) => (b.ms < a.ms ? b : a));

// Step 5: peak RSS of one long workflow, in a fresh process.
say(`peak RSS after ${fmt(sizes.rssSteps[0])} and ${fmt(sizes.rssSteps[1])} steps of one workflow`);
const rssRun = await runTs('bench/rss-child.ts', sizes.rssSteps.map(String), { BENCH_CHOICE: JSON.stringify(target.choice), WORKBOOK_LOG: 'warn' });
const marks = markedJson<{ steps: number; peakRssMb: number }[]>(rssRun, 'RSS: ', 'bench/rss-child.ts');

const partial: Omit<DatabaseResult, 'targets'> = {
  kind, description: target.description, mode, sizes,
  raw: { commitsPerSecond: sampled(rawRates), usPerCommit },
  steps: floored(sizes.steps, rounds.steps, rounds.floorSteps),
  preStepCheck: {
    ofUnchecked: sampled(rounds.steps.map((x, r) => x / rounds.unchecked[r])),
    usPerStep: sampled(rounds.steps.map((x, r) => 1e6 / x - 1e6 / rounds.unchecked[r])).median,
  },
  sequentialWorkflows: floored(sizes.sequentialWorkflows, rounds.sequential, rounds.floorSequential),
  concurrentWorkflows: { ...figure(sizes.concurrentWorkflows, rounds.concurrent), concurrency: sizes.concurrency },
  ex5: {
    source: 'experiments/ex5.ts', ms: ex5Best.ms, runsMs: ex5Runs.map((r) => r.ms), users: ex5Best.users,
    checkpoints: ex5Best.checkpoints, rawCommitEquivalents: (ex5Best.ms * 1000) / usPerCommit,
  },
  recovery: { ...recovery, rawCommitEquivalents: (recovery.ms * 1000) / usPerCommit },
  rss: {
    firstSteps: marks[0].steps, firstPeakMb: marks[0].peakRssMb, lastSteps: marks[1].steps, lastPeakMb: marks[1].peakRssMb,
    growthMb: Math.round((marks[1].peakRssMb - marks[0].peakRssMb) * 10) / 10,
  },
};
console.log(JSON.stringify({ result: { ...partial, targets: checkTargets(partial) } }));
