// Profiles one run of any experiment with one of three tools, each run into a new folder:
//
//   npm run profile:cpu   -- ex5 [--pg]   node --cpu-prof: .cpuprofile files (Chrome DevTools, speedscope),
//                                         summarised in the terminal at the end
//   npm run profile:flame -- ex5 [--pg]   clinic flame: an HTML flame graph
//   npm run profile:0x    -- ex5 [--pg]   0x: an HTML flame graph
//
// Output: profiles/<tool>-<time>-<experiment>/ (WORKBOOK_PROFILES_DIR moves profiles/). A folder is
// never reused: a second run in the same second gets "-2". Arguments after the experiment's name
// go to the experiment (--pg runs it on PostgreSQL). The last line is `PROFILE: <path>`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { filesUnder, formatSummary, summarise, threadOf, type CpuProfile } from './cpuprofile-summary.js';
import { experimentFile } from './lib-experiments.js';
import { buildForProfile } from './profile-build.js';

const TOOLS = ['cpu', 'flame', '0x'] as const;
type Tool = (typeof TOOLS)[number];

/** profiles/<tool>-<time>-<name>, created here; an existing folder is never written into. */
export function newProfileDir(tool: Tool, name: string, base = profilesBase(), now = new Date()): string {
  mkdirSync(base, { recursive: true });
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
  for (let n = 1; ; n++) {
    const dir = join(base, `${tool}-${stamp}-${name}${n > 1 ? `-${n}` : ''}`);
    try {
      mkdirSync(dir); // not recursive: fails if the folder exists, even when another run races us
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function profilesBase(env: NodeJS.ProcessEnv = process.env): string {
  return env.WORKBOOK_PROFILES_DIR ? resolve(env.WORKBOOK_PROFILES_DIR) : join(PROJECT_ROOT, 'profiles');
}

/** The local binary of a devDependency, or a message that says how to get it. */
function bin(name: string): string {
  const path = join(PROJECT_ROOT, 'node_modules', '.bin', name);
  if (!existsSync(path)) throw new ConfigError(`${name} is not installed in node_modules: run "npm install" (it is a devDependency of this project).`);
  return path;
}

type Command = { cmd: string; argv: string[]; env: NodeJS.ProcessEnv };

/**
 * The command that runs the lesson under `tool`, given the folder to write into; throws at once when
 * the tool is not installed. --cpu-prof writes one file per thread and we read the main thread's, so
 * it runs the TypeScript with tsx; clinic and 0x keep one thread's log only, so they run plain node
 * on the compiled lesson (scripts/profile-build.ts), which has no loader thread.
 */
function command(tool: Tool, file: string, args: string[]): (dir: string) => Promise<Command> {
  switch (tool) {
    case 'cpu':
      // A sample every 100 µs (default 1 ms): a lesson that runs a few hundred ms gets enough samples.
      return async (dir) => ({ cmd: process.execPath, argv: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100', '--import', 'tsx', file, ...args], env: {} });
    case 'flame': {
      const clinic = bin('clinic');
      return async (dir) => {
        const built = await buildForProfile(file, dir);
        // NO_INSIGHT=1: clinic would otherwise ask about usage statistics and, without a terminal, wait for an answer forever.
        return { cmd: clinic, argv: ['flame', '--open=false', '--dest', dir, '--', process.execPath, built.file, ...args], env: { ...built.env, NO_INSIGHT: '1' } };
      };
    }
    case '0x': {
      const ox = bin('0x');
      return async (dir) => {
        const built = await buildForProfile(file, dir);
        return { cmd: ox, argv: ['--output-dir', dir, '--', process.execPath, built.file, ...args], env: built.env };
      };
    }
  }
}

/** What to tell someone who runs clinic by hand: without NO_INSIGHT=1 and a terminal it waits silently. */
export const CLINIC_BY_HAND = 'By hand, run clinic as NO_INSIGHT=1 npx clinic flame --open=false -- node ...: without NO_INSIGHT=1 ' +
  'clinic first asks about usage statistics, and with no terminal to answer it exits 0 with no profile.';

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { cwd: PROJECT_ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal }));
  });
}

const show = (p: string) => (p.startsWith(PROJECT_ROOT) ? relative(PROJECT_ROOT, p) : p);

async function main(argv: string[]): Promise<number> {
  const [tool, name, ...args] = argv;
  if (!TOOLS.includes(tool as Tool) || !name) {
    process.stderr.write('usage: npm run profile:cpu|profile:flame|profile:0x -- <experiment> [its arguments, e.g. --pg]\n' +
      '  e.g. npm run profile:cpu -- ex5        npm run profile:flame -- ex5 --pg\n');
    return 2;
  }
  let file: string;
  let commandInto: (dir: string) => Promise<Command>;
  try {
    file = experimentFile(name);
    commandInto = command(tool as Tool, file, args); // checks the tool is installed before a folder is made
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const bare = file.replace(/^.*\//, '').replace(/\.ts$/, '');
  const dir = newProfileDir(tool as Tool, bare);
  const cmd = await commandInto(dir);
  console.log(`profiling ${show(file)} with ${tool === 'cpu' ? 'node --cpu-prof' : tool === 'flame' ? 'clinic flame' : '0x'} into ${show(dir)}/`);
  if (tool !== 'cpu') console.log(`(compiled to ${show(join(dir, 'build'))}/ and run with plain node: one JavaScript thread, so the graph is the lesson's)`);
  if (tool === 'flame') {
    console.log('(clinic says "press Ctrl + C": no need, the lesson ends by itself and the report follows)');
    console.log(`(clinic runs here with NO_INSIGHT=1. ${CLINIC_BY_HAND})`);
  }
  const exit = await run(cmd.cmd, cmd.argv, cmd.env);
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  rmSync(join(dir, 'build'), { recursive: true, force: true }); // the HTML is self-contained

  const made = tool === 'cpu' ? filesUnder(dir, '.cpuprofile') : filesUnder(dir, '.html');
  if (made.length === 0) {
    process.stderr.write(`\nNo ${tool === 'cpu' ? '.cpuprofile' : 'HTML'} file in ${show(dir)}: the run ${how}.` +
      (exit.signal ? ' A process that dies by a signal writes no profile (node writes --cpu-prof at exit): profile a run that ends.' : '') +
      (tool === 'flame' && !exit.signal ? ` ${CLINIC_BY_HAND}` : '') + '\n');
    return exit.code || 1;
  }
  console.log(`\nthe run ${how}; the profile is in ${show(dir)}/`);
  if (tool === 'cpu') {
    const mainThread = made.find((f) => (threadOf(f) ?? 0) === 0) ?? made[0];
    console.log(formatSummary(summarise(JSON.parse(readFileSync(mainThread, 'utf8')) as CpuProfile), 12));
    console.log(`\n  ${made.map(show).join('\n  ')}`);
    console.log(`the lesson's thread (thread 0; the other is tsx's module loader): ${mainThread}`);
    console.log('Open a .cpuprofile in Chrome DevTools (Performance, "Load profile") or at https://www.speedscope.app,');
    console.log(`or read it again here: npm run profile:summary -- ${show(dir)}`);
  } else {
    console.log(`  ${made.map(show).join('\n  ')}`);
    console.log('Open the HTML file in a browser (it is self-contained: copy it from a server and open it locally).');
  }
  console.log(`PROFILE: ${made.length === 1 ? made[0] : dir}`);
  return exit.code ?? 1;
}

// Run as a script, not when a test imports newProfileDir.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
