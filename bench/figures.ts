// The benchmark's figures for one database, their JSON shape (profiles/bench-<time>.json), and the
// targets of issue 6 checked against them.
import type { Mode, Sizes } from './modes.js';
import type { QueueFigures } from './queue.js';

/** Several measurements of one figure, each from its own round; the median is the figure. */
export interface Sampled {
  median: number;
  samples: number[];
}

export interface RateFigure {
  /** how many (steps or workflows) each sample timed */
  n: number;
  perSecond: Sampled;
  /** perSecond / raw commits per second, each sample against the raw rate measured around it */
  ratioToRaw: Sampled;
}

/** An engine figure and its floor: the engine's own SQL statements run straight on the driver, without the engine (bench/raw.ts). */
export interface FlooredFigure extends RateFigure {
  floor: RateFigure;
  /** perSecond / floor.perSecond, round by round: how much of the floor the engine keeps (1.0 = no cost of its own) */
  ofFloor: Sampled;
}

export interface DatabaseResult {
  kind: 'sqlite' | 'postgres';
  description: string;
  mode: Mode;
  sizes: Sizes;
  raw: { commitsPerSecond: Sampled; usPerCommit: number };
  steps: FlooredFigure;
  /** the check before each step (a cancel or a takeover from another process): steps/s with it over steps/s without, round by round */
  preStepCheck: { ofUnchecked: Sampled; usPerStep: number };
  sequentialWorkflows: FlooredFigure;
  concurrentWorkflows: RateFigure & { concurrency: number };
  ex5: {
    /** where the figure comes from: the lesson itself, run as a child process */
    source: string;
    /** the fastest run's total (its RESULT's ms.total): the first run also creates its tables */
    ms: number;
    runsMs: number[];
    users: number;
    checkpoints: number;
    /** ms / (ms per raw commit): how many raw commits would take as long */
    rawCommitEquivalents: number;
  };
  recovery: { steps: number; ms: number; queries: number; rawCommitEquivalents: number };
  rss: { firstSteps: number; firstPeakMb: number; lastSteps: number; lastPeakMb: number; growthMb: number };
  targets: TargetCheck[];
  /** through a queue with 1, 2 and 4 worker processes (bench/queue.ts); absent with --no-queue */
  queue?: QueueFigures;
}

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  mode: Mode;
  command: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverage: number[] };
  databases: DatabaseResult[];
}

export interface TargetCheck {
  figure: string;
  want: string;
  ok: boolean;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const sampled = (samples: number[]): Sampled => ({ median: median(samples), samples });

/** Issue 6's four targets. They hold for --quick and --full; --quick-test is too small to judge. */
export function checkTargets(r: Omit<DatabaseResult, 'targets'>): TargetCheck[] {
  return [
    { figure: 'steps/s in one workflow', want: '>= 0.8x raw', ok: r.steps.ratioToRaw.median >= 0.8 },
    { figure: 'one-step workflows/s, sequential', want: '>= 0.3x raw', ok: r.sequentialWorkflows.ratioToRaw.median >= 0.3 },
    { figure: `recovery of ${r.recovery.steps} steps`, want: 'O(1) queries (<= 10), < 1 s', ok: r.recovery.queries <= 10 && r.recovery.ms < 1000 },
    { figure: `peak RSS ${r.rss.firstSteps} -> ${r.rss.lastSteps} steps`, want: '+50 MB at most', ok: r.rss.growthMb <= 50 },
  ];
}

/** Paths of the figures that are missing or not finite numbers: empty when the JSON is complete. */
export function missingFigures(report: BenchReport): string[] {
  const missing: string[] = [];
  const need = (path: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) missing.push(path);
  };
  for (const d of report.databases ?? []) {
    const p = d.kind;
    need(`${p}.raw.commitsPerSecond`, d.raw?.commitsPerSecond?.median);
    need(`${p}.raw.usPerCommit`, d.raw?.usPerCommit);
    for (const f of ['steps', 'sequentialWorkflows', 'concurrentWorkflows'] as const) {
      need(`${p}.${f}.perSecond`, d[f]?.perSecond?.median);
      need(`${p}.${f}.ratioToRaw`, d[f]?.ratioToRaw?.median);
    }
    for (const f of ['steps', 'sequentialWorkflows'] as const) {
      need(`${p}.${f}.floor.perSecond`, d[f]?.floor?.perSecond?.median);
      need(`${p}.${f}.floor.ratioToRaw`, d[f]?.floor?.ratioToRaw?.median);
      need(`${p}.${f}.ofFloor`, d[f]?.ofFloor?.median);
    }
    need(`${p}.concurrentWorkflows.concurrency`, d.concurrentWorkflows?.concurrency);
    need(`${p}.ex5.ms`, d.ex5?.ms);
    need(`${p}.ex5.rawCommitEquivalents`, d.ex5?.rawCommitEquivalents);
    need(`${p}.recovery.ms`, d.recovery?.ms);
    need(`${p}.recovery.queries`, d.recovery?.queries);
    need(`${p}.rss.firstPeakMb`, d.rss?.firstPeakMb);
    need(`${p}.rss.lastPeakMb`, d.rss?.lastPeakMb);
    need(`${p}.rss.growthMb`, d.rss?.growthMb);
    if (!Array.isArray(d.targets) || d.targets.length !== 4) missing.push(`${p}.targets`);
  }
  return missing;
}
