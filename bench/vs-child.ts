// One engine's side of `npm run bench -- --vs dbos` (bench/vs-dbos.ts starts one per engine):
// the same workloads, through lib/engine-choice.ts, on the engine WORKBOOK_ENGINE names.
//   serve            reads commands from stdin, one JSON per line ({"op":"steps","n":400} ...),
//                    answers one JSON line each ({"rate":1234}); {"op":"exit"} ends it
//   crash <n> <id>   runs workflow <id> of n steps, then dies (process.abort()) before it ends
//   recover <id>     launches (which recovers <id>), awaits it, prints {"ms":...}: launch to result
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { DBOS, launchEngine, shutdownEngine } from '../lib/engine-choice.js';
import { crashNow } from '../lib/faults.js';

const APP = 'benchvs';
const say = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

const benchStep = DBOS.registerStep(async function benchStep(i: number) {
  return { i, label: `value ${i}`, ok: true };
});
const benchSteps = DBOS.registerWorkflow(async function benchSteps(n: number) {
  for (let i = 0; i < n; i++) await benchStep(i);
  return n;
});
const benchOneStep = DBOS.registerWorkflow(async function benchOneStep(i: number) {
  return benchStep(i);
});
const benchLong = DBOS.registerWorkflow(async function benchLong(n: number) {
  for (let i = 0; i < n; i++) await benchStep(i);
  if (process.env.BENCH_CRASH === '1') crashNow(); // every step recorded, the workflow not finished
  return n;
});

const rate = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);
const ops: Record<string, (c: { n: number; c?: number }) => Promise<number>> = {
  async steps({ n }) {
    const t0 = performance.now();
    await benchSteps(n);
    return rate(n, t0);
  },
  async sequential({ n }) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await benchOneStep(i);
    return rate(n, t0);
  },
  async concurrent({ n, c = 100 }) {
    const t0 = performance.now();
    for (let done = 0; done < n; done += c) await Promise.all(Array.from({ length: Math.min(c, n - done) }, (_, k) => benchOneStep(done + k)));
    return rate(n, t0);
  },
};

const [mode, a, b] = process.argv.slice(2);
if (mode === 'recover') {
  // The clock starts with every module loaded, for both engines: DBOS's SDK (and pg with it) is
  // imported at the top of lib/engine-choice.ts, while the workbook loads its PostgreSQL driver in
  // launch() (SQLite runs never pay for pg). Timed inside, that load was half of our launch() (issue 20).
  await import('../lib/storage/postgres.js');
  const t0 = performance.now();
  await launchEngine(APP);
  await DBOS.retrieveWorkflow(a).getResult();
  say({ ms: performance.now() - t0 });
  await shutdownEngine();
} else {
  await launchEngine(APP);
  if (mode === 'crash') {
    await DBOS.startWorkflow(benchLong, { workflowID: b })(Number(a)).then((h) => h.getResult());
  } else {
    say({ ready: true });
    for await (const line of createInterface({ input: process.stdin })) {
      const cmd = JSON.parse(line) as { op: string; n: number; c?: number };
      if (cmd.op === 'exit') break;
      say({ rate: await ops[cmd.op](cmd) });
    }
  }
  await shutdownEngine();
  process.exit(0); // stdin, read by readline, would keep the process alive
}
