// Seeded failure and crash injection: the only way experiments break things on purpose.
//
//   const faults = new Faults({ 'crash-after-page-1': 0.5 });   // sites and default probabilities
//   faults.failHere('insert-after-write');   // throws InjectedFailure with that site's probability
//   faults.crashHere('crash-after-page-1');  // process.abort() with that site's probability
//
// Environment: WORKBOOK_SEED (whole number, default 1) and one WORKBOOK_P_<SITE> per site, the
// site upper-cased with '-' and '.' as '_' (WORKBOOK_P_CRASH_AFTER_PAGE_1=0.5).
//
// Each decision is drawn from a stream seeded by (seed, site, execution attempt). Inside a
// workflow the attempt is the workflow's recovery count, so a recovered run draws new numbers: a
// crash that happened once does not happen again at the same point forever, and the same seed
// still replays the same sequence of runs. Every injected failure or crash is logged with the seed.
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { currentExecutionAttempt } from './context.js';
import { ConfigError, InjectedFailure } from './errors.js';

export function siteEnvName(site: string): string {
  return 'WORKBOOK_P_' + site.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

export function parseSeed(env: NodeJS.ProcessEnv = process.env, defaultSeed = 1): number {
  const raw = env.WORKBOOK_SEED;
  if (raw === undefined || raw === '') return defaultSeed;
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new ConfigError(`WORKBOOK_SEED=${raw} is not a seed: give a whole number from 0 to 999999999, e.g. WORKBOOK_SEED=42.`);
  }
  return Number(raw);
}

export function parseProbability(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const p = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) {
    throw new ConfigError(`${name}=${raw} is not a probability: give a number from 0 to 1, e.g. ${name}=0.5.`);
  }
  return p;
}

/**
 * 32-bit FNV-1a, finished with murmur3's fmix32: turns (seed, site, attempt) into a generator seed.
 * The finish matters: xoroshiro128plus's first output is ~seed, and bare FNV-1a barely changes its
 * top bits when only the last character (the attempt) changes, so without it a crash drawn at
 * attempt 1 came back at attempts 2, 3, 4 for about half of all seeds.
 */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Writes straight to fd 2, so the line is out before an abort. */
function say(line: string): void {
  writeSync(2, line + '\n');
}

/** Every fault site a Faults of this process declared: WORKBOOK_P_<SITE> for any other is a typo (lib/lesson-input.ts). */
export const declaredSites = new Set<string>();

export class Faults {
  readonly seed: number;
  private readonly p = new Map<string, number>();
  private readonly streams = new Map<string, { rng: RandomGenerator; draws: number }>();

  /** `defaultSeed` (default 1) is the seed when WORKBOOK_SEED is unset: a lesson picks one that shows its point. */
  constructor(sites: Record<string, number>, env: NodeJS.ProcessEnv = process.env, defaultSeed = 1) {
    this.seed = parseSeed(env, defaultSeed);
    for (const [site, dflt] of Object.entries(sites)) {
      declaredSites.add(site);
      this.p.set(site, parseProbability(siteEnvName(site), env[siteEnvName(site)], dflt));
    }
  }

  probability(site: string): number {
    const p = this.p.get(site);
    if (p === undefined) throw new ConfigError(`Fault site "${site}" was not declared: add it to new Faults({...}).`);
    return p;
  }

  /** One line for the start of a run: the seed and every site's probability, and how to set them. */
  describe(): string {
    const sites = [...this.p].map(([s, p]) => `${s}=${p} (${siteEnvName(s)})`).join(', ');
    return `faults: seed=${this.seed} (WORKBOOK_SEED); ${sites || 'no sites'}`;
  }

  /** Draws from the (seed, site, attempt) stream: true with the site's probability. */
  chance(site: string): { hit: boolean; attempt: number; draw: number; p: number } {
    const p = this.probability(site);
    const attempt = currentExecutionAttempt();
    const key = `${this.seed}|${site}|${attempt}`;
    let s = this.streams.get(key);
    if (!s) this.streams.set(key, (s = { rng: xoroshiro128plus(hash32(key)), draws: 0 }));
    s.draws++;
    const u = (s.rng.unsafeNext() >>> 0) / 4294967296;
    return { hit: u < p, attempt, draw: s.draws, p };
  }

  /** Throws an InjectedFailure with the site's probability. */
  failHere(site: string): void {
    const c = this.chance(site);
    if (!c.hit) return;
    say(`[fault] FAILING at ${site} seed=${this.seed} attempt=${c.attempt} draw=${c.draw} p=${c.p}`);
    throw new InjectedFailure(site, this.seed);
  }

  /** Kills the whole process with process.abort() (SIGABRT), with the site's probability. */
  crashHere(site: string): void {
    const c = this.chance(site);
    if (!c.hit) return;
    say(`[fault] CRASHING at ${site} seed=${this.seed} attempt=${c.attempt} draw=${c.draw} p=${c.p}`);
    crashNow();
  }
}

/**
 * A real crash: the process dies by SIGABRT at once (exit status 134 in a shell), running no exit
 * handler, no finally, no further line of JavaScript, as process.abort() does. Core files are
 * switched off first so a crash loop leaves no core dumps behind. process.abort() also prints ~15
 * lines of Node's native and JavaScript stack trace, noise under the lesson's own `[fault]` line:
 * it is used only when WORKBOOK_TRACE=1 asks for that trace; otherwise the process sends itself
 * SIGABRT, the same death without the trace (process.abort() stays the fallback).
 */
export function crashNow(): never {
  spawnSync('prlimit', ['--pid', String(process.pid), '--core=0'], { stdio: 'ignore' });
  if (process.env.WORKBOOK_TRACE !== '1') {
    process.kill(process.pid, 'SIGABRT');
    // A signal sent to itself is delivered before kill() returns; wait without running any JavaScript just in case.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  process.abort();
}
