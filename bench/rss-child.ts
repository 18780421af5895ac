// Peak memory of one long workflow, in a process of its own so that nothing else the benchmark did
// has raised the peak first. It runs one workflow of rssSteps[1] steps and reads the process's
// peak RSS after rssSteps[0] steps and again at the end: a flat engine keeps the two close.
//   node --import tsx bench/rss-child.ts <first> <last>     (BENCH_CHOICE: the DatabaseChoice as JSON)
// Prints `RSS: <json>` on stdout.
import { DBOS } from '../lib/index.js';
import { BENCH_APP } from './databases.js';
import { smallValue } from './raw.js';

const [first, last] = process.argv.slice(2, 4).map(Number);
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
const marks: { steps: number; peakRssMb: number; rssMb: number; heapUsedMb: number }[] = [];

function mark(steps: number) {
  const m = process.memoryUsage();
  marks.push({ steps, peakRssMb: mb(process.resourceUsage().maxRSS), rssMb: mb(m.rss / 1024), heapUsedMb: mb(m.heapUsed / 1024) });
}

const rssStep = DBOS.registerStep(async function rssStep(i: number) {
  return smallValue(i);
});

// Reading the memory is workflow code, not a step: it is not recorded, and costs nothing at the other steps.
const rssWorkflow = DBOS.registerWorkflow(async function rssWorkflow(n: number, at: number) {
  for (let i = 0; i < n; i++) {
    await rssStep(i);
    if (i + 1 === at) mark(at);
  }
  mark(n);
  return n;
});

DBOS.setConfig({ name: BENCH_APP, database: JSON.parse(process.env.BENCH_CHOICE ?? '') });
await DBOS.launch();
try {
  await rssWorkflow(last, first);
} finally {
  await DBOS.shutdown();
}
console.log('RSS: ' + JSON.stringify(marks));
