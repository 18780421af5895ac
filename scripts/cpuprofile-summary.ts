// A flame graph needs a browser; this reads a .cpuprofile (node --cpu-prof, Chrome DevTools) in the
// terminal: time by origin, the top functions by self time and by total time, and the top frames
// of each origin, so that a lesson can be followed over ssh and checked in CI.
//
//   npm run profile:summary -- profiles/cpu-2025-01-01T10-00-00-ex5        (a folder: every profile in it)
//   npm run profile:summary -- path/to/CPU.20250101.100000.1234.0.001.cpuprofile [--top 20]
//
// Origins (where a frame's code lives):
//   engine  lib/ (the durable-step engine: engine.ts, storage/, serialize.ts ...)
//   lesson  experiments/, and the lessons' data helpers lib/user.ts and lib/users-table.ts
//   driver  the database drivers: better-sqlite3, pg and its packages (pg-protocol, pg-pool ...)
//   faker   @faker-js/faker
//   node    node:internal/..., (garbage collector), (program), (idle)
//   other   everything else (tsx, esbuild, uuid, pure-rand ...)
// A native function (no file) counts for the code that called it: better-sqlite3's statements are
// C++, so the time SQLite itself takes shows as self time of their caller, lib/storage/sqlite.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../lib/config.js';

export type Origin = 'engine' | 'lesson' | 'driver' | 'faker' | 'node' | 'other';
export const ORIGINS: Origin[] = ['engine', 'lesson', 'driver', 'faker', 'node', 'other'];

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface FunctionTime {
  name: string;
  /** project-relative file and 1-based line, or the node: URL */
  where: string;
  origin: Origin;
  selfMs: number;
  totalMs: number;
}

export interface Summary {
  durationMs: number;
  samples: number;
  byOrigin: Record<Origin, number>;
  idleMs: number;
  functions: FunctionTime[];
}


/** Where a frame's code lives; undefined for a native function, which takes its caller's origin. */
export function originOf(url: string, functionName: string): Origin | undefined {
  if (!url) return /^\(.*\)$/.test(functionName) ? 'node' : undefined;
  if (url.startsWith('node:')) return 'node';
  const path = url.replace(/^file:\/\//, '');
  if (/\/node_modules\/(better-sqlite3|bindings|pg|pg-[\w-]+|pgpass|postgres-[\w-]+)\//.test(path)) return 'driver';
  if (/\/node_modules\/@faker-js\//.test(path)) return 'faker';
  if (path.includes('/node_modules/')) return 'other';
  if (/\/experiments\//.test(path) || /\/lib\/(user|users-table)\.[cm]?[jt]s$/.test(path)) return 'lesson';
  if (/\/lib\//.test(path)) return 'engine';
  return 'other';
}

function whereOf(f: CallFrame): string {
  if (!f.url) return '(native)';
  const file = f.url.startsWith('file://') ? relative(PROJECT_ROOT, fileURLToPath(f.url)) : f.url;
  // tsx hands V8 its compiled output, whose positions are not the .ts file's: name the file alone.
  return /\.[cm]?tsx?$/.test(file) ? file : `${file}:${f.lineNumber + 1}`;
}

/** One function: its name and position (two anonymous functions in one file are two functions). */
const keyOf = (f: CallFrame, o: Origin) => `${f.functionName || '(anonymous)'}|${f.url}|${f.lineNumber}:${f.columnNumber}|${o}`;

export function summarise(p: CpuProfile): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Self time per node: a sample lasts until the next one (the last one gets the mean interval).
  const self = new Map<number, number>();
  const mean = p.samples.length ? (p.endTime - p.startTime) / p.samples.length : 0;
  p.samples.forEach((id, i) => {
    const us = i + 1 < p.timeDeltas.length ? Math.max(0, p.timeDeltas[i + 1]) : mean;
    self.set(id, (self.get(id) ?? 0) + us / 1000);
  });

  // Origin and function key per node, and the distinct keys on its stack (for total time).
  const origin = new Map<number, Origin>();
  const stackKeys = new Map<number, string[]>();
  const fns = new Map<string, FunctionTime>();
  const visit = (id: number): void => {
    if (stackKeys.has(id)) return;
    const n = byId.get(id)!;
    const up = parent.get(id);
    if (up !== undefined) visit(up);
    const o = originOf(n.callFrame.url, n.callFrame.functionName) ?? (up !== undefined ? origin.get(up)! : 'other');
    origin.set(id, o);
    const name = n.callFrame.functionName || '(anonymous)';
    const key = keyOf(n.callFrame, o);
    if (!fns.has(key)) fns.set(key, { name, where: whereOf(n.callFrame), origin: o, selfMs: 0, totalMs: 0 });
    const above = up !== undefined ? stackKeys.get(up)! : [];
    // (root) spans everything: leave it out of "total", where it would always be first.
    stackKeys.set(id, name === '(root)' || above.includes(key) ? above : [...above, key]);
  };
  for (const n of p.nodes) visit(n.id);

  const byOrigin = Object.fromEntries(ORIGINS.map((o) => [o, 0])) as Record<Origin, number>;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const key = keyOf(n.callFrame, origin.get(id)!);
    fns.get(key)!.selfMs += ms;
    for (const k of stackKeys.get(id)!) fns.get(k)!.totalMs += ms;
    byOrigin[origin.get(id)!] += ms;
    if (n.callFrame.functionName === '(idle)') idleMs += ms;
  }
  return {
    durationMs: (p.endTime - p.startTime) / 1000,
    samples: p.samples.length,
    byOrigin,
    idleMs,
    functions: [...fns.values()].filter((f) => f.selfMs > 0 || f.totalMs > 0),
  };
}

const ms = (x: number) => x.toFixed(1).padStart(9);
const pc = (x: number, all: number) => `${all > 0 ? ((100 * x) / all).toFixed(1) : '0.0'}%`.padStart(6);

export function formatSummary(s: Summary, top = 15, full = true): string {
  const all = Object.values(s.byOrigin).reduce((a, b) => a + b, 0);
  const out: string[] = [`  ${s.durationMs.toFixed(0)} ms profiled, ${s.samples} samples`, '', '  Time by origin (self time)'];
  for (const o of ORIGINS) out.push(`    ${o.padEnd(7)}${ms(s.byOrigin[o])} ms ${pc(s.byOrigin[o], all)}`);
  out.push(`    (of node: ${s.idleMs.toFixed(1)} ms idle, waiting for I/O such as a PostgreSQL round trip)`);
  if (!full) return out.join('\n');
  const row = (f: FunctionTime) => `    ${ms(f.selfMs)} ${pc(f.selfMs, all)} ${ms(f.totalMs)} ${pc(f.totalMs, all)}  ${f.origin.padEnd(7)}${f.name}  ${f.where}`;
  const head = `     self ms      %  total ms      %  origin function  file:line`;
  const bySelf = [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const byTotal = [...s.functions].sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  out.push('', `  Top ${top} functions by self time (time in the function itself)`, head, ...bySelf.map(row));
  out.push('', `  Top ${top} functions by total time (the function and what it called)`, head, ...byTotal.map(row));
  out.push('', '  Top 3 frames of each origin by total time', head);
  for (const o of ORIGINS) {
    const mine = s.functions.filter((f) => f.origin === o).sort((a, b) => b.totalMs - a.totalMs).slice(0, 3);
    out.push(...(mine.length ? mine.map(row) : [`    (no ${o} frames)`]));
  }
  return out.join('\n');
}

/** Every file under `dir` (at any depth) whose name ends with `ext`, sorted. */
export function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => join(dir, f)).sort();
}

/** The .cpuprofile files a path names: the file itself, or every one under a folder, sorted. */
export function profileFiles(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) {
    throw new Error(`${path} does not exist. Give a .cpuprofile file or a folder holding some, e.g. one that "npm run profile:cpu -- ex5" printed.`);
  }
  if (stat.isFile()) return [path];
  const found = filesUnder(path, '.cpuprofile');
  if (found.length === 0) throw new Error(`No .cpuprofile file in ${path}. Make one with: npm run profile:cpu -- ex5`);
  return found;
}

/** node --cpu-prof names files CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one. */
export function threadOf(file: string): number | undefined {
  const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file));
  return m ? Number(m[1]) : undefined;
}

function main(argv: string[]): number {
  let top = 15;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else paths.push(argv[i]);
  }
  if (paths.length !== 1 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: npm run profile:summary -- <file.cpuprofile | folder> [--top N]\n' +
      '  e.g. npm run profile:summary -- profiles/cpu-2025-01-01T10-00-00-ex5\n');
    return 2;
  }
  let files: string[];
  try {
    files = profileFiles(paths[0]);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  for (const file of files) {
    const thread = threadOf(file);
    const main = thread === undefined || thread === 0;
    const label = main ? 'main thread' : `worker thread ${thread}: tsx loads modules there, so expect only start-up (origin table only)`;
    let profile: CpuProfile;
    try {
      profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
      if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples)) throw new Error('no nodes or samples');
    } catch (err) {
      process.stderr.write(`${file} is not a V8 CPU profile (${(err as Error).message}). Give a .cpuprofile written by node --cpu-prof.\n`);
      return 2;
    }
    console.log(`CPU profile ${file} (${label})`);
    console.log(formatSummary(summarise(profile), top, main));
    console.log('');
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
