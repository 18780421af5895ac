/**
 * npm run mutants: break each central claim on purpose and see the tests catch it
 * ================================================================================
 *
 *   npm run mutants                      every mutant in mutants/mutants.ts and capabilities.ts
 *   npm run mutants -- --quick           the quick subset (SQLite, ~1-2 min): what `npm test` runs
 *   npm run mutants -- --only fence-owner,claim-result
 *   npm run mutants -- --check           only that every mutant still applies (no tests run)
 *   npm run mutants -- --list            the table of mutants
 *   --jobs N runs N mutants at once (default 1: the tests spawn processes of their own).
 *
 * For each mutant: a copy of the project in a temporary directory (node_modules is a symlink),
 * its one-line replacement applied (the run fails if the `find` text is not there exactly once:
 * the mutant no longer matches the code and must be updated), then the named test files with
 * vitest. "killed": a test failed, as it must. "SURVIVED": every test passed with the claim
 * broken, a claim no test checks. Prints a table and `MUTANTS: <json>`.
 *
 * Exit 0: every mutant killed. 1: one survived, did not apply, or its tests could not run.
 * 2: bad arguments.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Table from 'cli-table3';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { MUTANTS, type Mutant } from '../mutants/mutants.js';

interface VitestReport {
  numFailedTests: number;
  numPassedTests: number;
  numFailedTestSuites: number;
  testResults: { status: string; message?: string; assertionResults?: { title: string; status: string; failureMessages?: string[] }[] }[];
}

type Verdict = 'killed' | 'SURVIVED' | 'DOES NOT APPLY' | 'NO TESTS RAN' | 'TIMED OUT';
interface Outcome { id: string; verdict: Verdict; failed: number; passed: number; seconds: number; detail: string }

/** Top-level entries not copied: the copy gets a symlink to node_modules, and needs no history or data. */
const SKIP = new Set(['node_modules', '.git', 'data', 'profiles', '.clinic']);
const TIMEOUT_MS = Number(process.env.MUTANT_TIMEOUT_MS ?? 15 * 60_000);

/** The text of `file` with the mutant applied, or why it does not apply. */
export function mutate(m: Mutant, text: string): { text: string } | { problem: string } {
  if (m.find.includes('\n')) return { problem: 'its find text spans lines: keep it to one line' };
  const n = text.split(m.find).length - 1;
  if (n !== 1) return { problem: `"${m.find}" is found ${n} times in ${m.file}, not once: update the mutant to the code as it is now` };
  return { text: text.replace(m.find, () => m.replace) };
}

function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mutant-'));
  cpSync(PROJECT_ROOT, dir, { recursive: true, filter: (src) => !SKIP.has(relative(PROJECT_ROOT, src).split('/')[0]) });
  symlinkSync(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(dir, 'node_modules'));
  return dir;
}

/** The child's environment: ours without the variables of a vitest that may be running us. */
function childEnv(m: Mutant): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(VITEST|TINYPOOL|WORKBOOK_)/.test(k) && k !== 'NODE_OPTIONS' && k !== 'DATABASE_URL') env[k] = v;
  if (m.db !== 'both') env.WORKBOOK_TEST_DB = m.db;
  env.WORKBOOK_LOG = 'warn';
  return env;
}

async function runMutant(m: Mutant): Promise<Outcome> {
  const started = Date.now();
  const done = (verdict: Verdict, detail: string, failed = 0, passed = 0): Outcome =>
    ({ id: m.id, verdict, failed, passed, seconds: Math.round((Date.now() - started) / 1000), detail });
  const source = join(PROJECT_ROOT, m.file);
  if (!existsSync(source)) return done('DOES NOT APPLY', `${m.file} does not exist`);
  const applied = mutate(m, readFileSync(source, 'utf8'));
  if ('problem' in applied) return done('DOES NOT APPLY', applied.problem);
  const dir = copyProject();
  try {
    writeFileSync(join(dir, m.file), applied.text);
    const report = join(dir, 'vitest-report.json');
    const args = [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', ...m.tests, '--reporter=json', `--outputFile=${report}`];
    if (m.testName) args.push('-t', m.testName);
    const { code, timedOut, output } = await run(args, dir, childEnv(m));
    if (timedOut) return done('TIMED OUT', `the tests did not end within ${TIMEOUT_MS / 1000} s`);
    if (!existsSync(report)) return done('NO TESTS RAN', `vitest wrote no report (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`);
    const r = JSON.parse(readFileSync(report, 'utf8')) as VitestReport;
    const broken = r.testResults.filter((t) => t.status === 'failed' && t.message).map((t) => t.message!.split('\n')[0]);
    // The first failure, to see that the test caught the claim (an assertion), not a crash of the mutant.
    const first = r.testResults.flatMap((t) => t.assertionResults ?? []).find((a) => a.status === 'failed');
    const why = first ? `: "${first.title}": ${(first.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 160)}` : '';
    if (r.numFailedTests > 0) return done('killed', `${r.numFailedTests} test(s) failed${why}`, r.numFailedTests, r.numPassedTests);
    if (r.numFailedTestSuites > 0) return done('killed', `a test file failed to run: ${broken.join('; ').slice(0, 200)}`, 0, r.numPassedTests);
    if (r.numPassedTests === 0) return done('NO TESTS RAN', `no test matched ${m.tests.join(' ')}${m.testName ? ` -t "${m.testName}"` : ''}`);
    return done('SURVIVED', `all ${r.numPassedTests} test(s) passed with the claim broken`, 0, r.numPassedTests);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; timedOut: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let timedOut = false;
    // The tests start processes of their own: a timeout ends the whole group.
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, output });
    });
  });
}

function parseArgs(argv: string[]): { list: Mutant[]; check: boolean; show: boolean; jobs: number } {
  let list = MUTANTS;
  let check = false;
  let show = false;
  let jobs = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') list = list.filter((m) => m.quick);
    else if (a === '--check') check = true;
    else if (a === '--list') show = true;
    else if (a === '--only') {
      const ids = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = ids.filter((id) => !MUTANTS.some((m) => m.id === id));
      if (!ids.length || unknown.length) throw new ConfigError(`--only ${argv[i] ?? ''}: ${unknown.length ? `no mutant ${unknown.join(', ')}` : 'give ids'}; the ids are ${MUTANTS.map((m) => m.id).join(', ')}.`);
      list = list.filter((m) => ids.includes(m.id));
    } else if (a === '--jobs') {
      jobs = Number(argv[++i]);
      if (!Number.isInteger(jobs) || jobs < 1) throw new ConfigError(`--jobs ${argv[i] ?? ''} is not usable: give a whole number >= 1, e.g. --jobs 2.`);
    } else throw new ConfigError(`unknown argument "${a}": use --quick, --only ID[,ID], --check, --list, --jobs N.`);
  }
  return { list, check, show, jobs };
}

async function main(): Promise<number> {
  const { list, check, show, jobs } = parseArgs(process.argv.slice(2));
  if (show || check) {
    const t = new Table({ head: ['mutant', 'file', 'tests', 'db', 'quick', check ? 'applies' : 'claim'], style: { head: [], border: [] }, wordWrap: true, colWidths: [26, 22, 34, 9, 7, 60] });
    let bad = 0;
    for (const m of list) {
      const applied = mutate(m, existsSync(join(PROJECT_ROOT, m.file)) ? readFileSync(join(PROJECT_ROOT, m.file), 'utf8') : '');
      if ('problem' in applied) bad++;
      t.push([m.id, m.file, m.tests.join(' ') + (m.testName ? ` -t "${m.testName}"` : ''), m.db, m.quick ? 'yes' : '', check ? ('problem' in applied ? `NO: ${applied.problem}` : 'yes') : m.claim]);
    }
    console.log(t.toString());
    return bad ? 1 : 0;
  }
  console.log(`mutants: ${list.length} (${list.map((m) => m.id).join(', ')}), ${jobs} at a time`);
  const outcomes: Outcome[] = [];
  const queue = [...list];
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const o = await runMutant(m);
      console.log(`${o.verdict.padEnd(14)} ${m.id} (${o.seconds} s): ${o.detail}`);
      outcomes.push(o);
    }
  }));
  outcomes.sort((a, b) => list.findIndex((m) => m.id === a.id) - list.findIndex((m) => m.id === b.id));
  const t = new Table({ head: ['mutant', 'claim broken', 'result', 'tests failed', 's'], style: { head: [], border: [] }, wordWrap: true, colWidths: [26, 62, 16, 8, 6] });
  for (const o of outcomes) t.push([o.id, MUTANTS.find((m) => m.id === o.id)!.claim, o.verdict, `${o.failed}/${o.failed + o.passed}`, o.seconds]);
  console.log(t.toString());
  const killed = outcomes.filter((o) => o.verdict === 'killed' || o.verdict === 'TIMED OUT').length;
  console.log(`${killed} of ${outcomes.length} mutants killed`);
  console.log(`MUTANTS: ${JSON.stringify({ total: outcomes.length, killed, outcomes: outcomes.map(({ id, verdict, seconds }) => ({ id, verdict, seconds })) })}`);
  return killed === outcomes.length ? 0 : 1;
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(new URL(import.meta.url).pathname)) {
  try {
    process.exitCode = await main();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? 'BAD INPUT' : 'FAILED'}: ${(err as Error).message}\n`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  }
}
