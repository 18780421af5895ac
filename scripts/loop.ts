// The retry loop: runs an experiment again and again until it exits 0, as the shell form does
//   while ! npx tsx experiments/ex3.ts; do echo "Restarting..."; sleep 1; done
// but with a maximum number of runs, and a summary of how each run ended.
//
//   npm run loop -- ex3                      # SQLite
//   npm run loop -- ex3 --pg                 # PostgreSQL: flags the loop does not know go to the experiment
//   npm run loop -- ex3 --max-runs 5 --sleep-ms 200
//
// The environment passes through (WORKBOOK_SEED, WORKBOOK_P_*, DATABASE_URL ...). Each run starts in
// `sh -c 'ulimit -c 0; exec node ...'` so a crash (SIGABRT) leaves no core file behind.
// Prints at the end, on stdout:
//   LOOP: {"runs":3,"crashed":2,"failed":0,"succeeded":true,"ends":["SIGABRT","SIGABRT","exit 0"]}
// Exit code: 0 if the last run succeeded, 1 if the runs ran out (or were interrupted), 2 for bad input.
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { experimentFile } from './lib-experiments.js';

interface Options {
  name: string;
  /** the experiment's file (a wrong name fails in parseArgs, with the list of right ones) */
  file: string;
  maxRuns: number;
  sleepMs: number;
  /** the arguments the loop does not know, passed to each run (--pg, --resume <id> ...) */
  passArgs: string[];
}

const USAGE = 'Usage: npm run loop -- <experiment> [--max-runs N] [--sleep-ms MS] [flags for the experiment], e.g. npm run loop -- ex3 --max-runs 10';

function wholeNumber(flag: string, raw: string | undefined, min: number): number {
  if (raw === undefined || !/^\d{1,7}$/.test(raw) || Number(raw) < min) {
    throw new ConfigError(`${flag} ${raw ?? ''}`.trim() + ` is not usable: give a whole number >= ${min}, e.g. ${flag} ${Math.max(min, 5)}. ${USAGE}`);
  }
  return Number(raw);
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  let name: string | undefined;
  let maxRuns = 20;
  let sleepMs = env.WORKBOOK_LOOP_SLEEP_MS === undefined ? 1000 : wholeNumber('WORKBOOK_LOOP_SLEEP_MS', env.WORKBOOK_LOOP_SLEEP_MS, 0);
  const passArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--max-runs') maxRuns = wholeNumber(a, argv[++i], 1);
    else if (a.startsWith('--max-runs=')) maxRuns = wholeNumber('--max-runs', a.slice(11), 1);
    else if (a === '--sleep-ms') sleepMs = wholeNumber(a, argv[++i], 0);
    else if (a.startsWith('--sleep-ms=')) sleepMs = wholeNumber('--sleep-ms', a.slice(11), 0);
    else if (name === undefined && !a.startsWith('-')) name = a;
    else passArgs.push(a);
  }
  if (!name) throw new ConfigError(`Which experiment? ${USAGE}`);
  return { name, file: experimentFile(name), maxRuns, sleepMs, passArgs };
}

/** One run of the experiment; resolves with how it ended. */
function runOnce(file: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    // exec: the shell becomes node, so the signal that ends node is the one we see.
    const child = spawn('sh', ['-c', 'ulimit -c 0; exec "$@"', 'sh', process.execPath, '--import', 'tsx', file, ...args], {
      cwd: PROJECT_ROOT,
      env: process.env,
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`BAD INPUT: ${(err as Error).message}\n`);
    return 2;
  }
  const { file } = opts;
  let interrupted = false;
  // Ctrl-C reaches the running experiment too (same process group); the loop then stops after it.
  process.on('SIGINT', () => (interrupted = true));
  process.on('SIGTERM', () => (interrupted = true));

  const ends: string[] = [];
  let crashed = 0;
  let failed = 0;
  let succeeded = false;
  for (let run = 1; run <= opts.maxRuns && !interrupted; run++) {
    console.log(`--- loop: run ${run} of at most ${opts.maxRuns}: ${opts.name} ${opts.passArgs.join(' ')}`.trimEnd());
    const { code, signal } = await runOnce(file, opts.passArgs);
    if (signal) {
      crashed++;
      ends.push(signal);
      console.log(`--- loop: run ${run} crashed (${signal})`);
    } else if (code !== 0) {
      failed++;
      ends.push(`exit ${code}`);
      console.log(`--- loop: run ${run} failed (exit code ${code})`);
    } else {
      ends.push('exit 0');
      succeeded = true;
      console.log(`--- loop: run ${run} finished (exit code 0)`);
      break;
    }
    if (run < opts.maxRuns && !interrupted) {
      console.log('Restarting...');
      await new Promise((r) => setTimeout(r, opts.sleepMs));
    }
  }
  const runs = ends.length;
  console.log(`\n--- loop: ${runs} run(s): ${crashed} crashed (by signal), ${failed} failed (by exit code), ${succeeded ? 'the last one finished' : interrupted ? 'interrupted' : 'none finished'}`);
  console.log(`LOOP: ${JSON.stringify({ runs, crashed, failed, succeeded, ends })}`);
  return succeeded ? 0 : 1;
}

process.exitCode = await main();
