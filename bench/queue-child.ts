// A worker of npm run bench's queue phase (bench/queue.ts): serves queue BENCH_QUEUE with the one-step
// workflow "benchQueued", at most 10 at once per worker, polling every 10 ms. It loads everything, prints READY, and launches
// only on SIGUSR1, so that all workers start claiming together; SIGTERM stops it.
import { DBOS } from '../lib/index.js';

DBOS.registerQueue(process.env.BENCH_QUEUE!, { workerConcurrency: 10, minPollingIntervalMs: 10 });
const benchStep = DBOS.registerStep(async function benchStep(i: number) {
  return { i, ok: true };
});
DBOS.registerWorkflow(async function benchQueued(i: number) {
  return benchStep(i);
}, { name: 'benchQueued' });

DBOS.setConfig({ name: 'bench_queue' }); // bench/queue.ts QUEUE_APP: its own application, so launch() recovers nothing of the other phases
const keepAlive = setInterval(() => {}, 1000);
// Both handlers before READY: bench/queue.ts stops the workers once the jobs are done, and on a
// loaded machine one may still be inside launch() then (a SIGTERM without its handler kills it).
const go = new Promise((r) => process.once('SIGUSR1', () => r('go')));
const stop = new Promise((r) => process.once('SIGTERM', () => r('stop')));
console.log('READY');
if ((await Promise.race([go, stop])) === 'go') {
  await DBOS.launch();
  console.log('LAUNCHED');
  await stop;
}
clearInterval(keepAlive);
await DBOS.shutdown();
