// How much each benchmark mode measures. Quick (the default) takes about a minute for both
// databases, most of it PostgreSQL's 100,000-step RSS run; --full measures longer for steadier
// numbers; --quick-test only proves that every figure can be measured (the test runs it), so its
// numbers mean nothing.
export type Mode = 'quick-test' | 'quick' | 'full';

export interface Sizes {
  /** rounds of (raw commits, steps, sequential workflows, concurrent workflows), interleaved */
  rounds: number;
  /** single-row commits per raw measurement */
  rawCommits: number;
  /** steps in the one workflow of the steps/s figure */
  steps: number;
  /** one-step workflows run one after the other */
  sequentialWorkflows: number;
  /** one-step workflows started at once, in waves of `concurrency` */
  concurrentWorkflows: number;
  concurrency: number;
  /** ex5 runs (the best one counts: the first pays for creating its tables) */
  ex5Runs: number;
  /** recorded steps of the workflow whose recovery is timed */
  recoverySteps: number;
  /** RSS is read after rssSteps[0] and after rssSteps[1] steps of one workflow */
  rssSteps: [number, number];
}

/** Per database: PostgreSQL commits are ~20x slower (an fsync each), so it gets fewer of them. */
export const SIZES: Record<Mode, { sqlite: Sizes; postgres: Sizes }> = {
  'quick-test': {
    sqlite: { rounds: 1, rawCommits: 200, steps: 200, sequentialWorkflows: 50, concurrentWorkflows: 100, concurrency: 100, ex5Runs: 1, recoverySteps: 1_000, rssSteps: [500, 2_000] },
    postgres: { rounds: 1, rawCommits: 100, steps: 100, sequentialWorkflows: 20, concurrentWorkflows: 100, concurrency: 100, ex5Runs: 1, recoverySteps: 1_000, rssSteps: [200, 1_000] },
  },
  quick: {
    sqlite: { rounds: 5, rawCommits: 3_000, steps: 3_000, sequentialWorkflows: 600, concurrentWorkflows: 1_000, concurrency: 100, ex5Runs: 2, recoverySteps: 10_000, rssSteps: [10_000, 100_000] },
    // The RSS run is most of PostgreSQL's time: 100,000 steps at one fsync each take 40-60 s.
    postgres: { rounds: 5, rawCommits: 400, steps: 400, sequentialWorkflows: 100, concurrentWorkflows: 500, concurrency: 100, ex5Runs: 2, recoverySteps: 10_000, rssSteps: [10_000, 100_000] },
  },
  full: {
    sqlite: { rounds: 9, rawCommits: 10_000, steps: 10_000, sequentialWorkflows: 2_000, concurrentWorkflows: 3_000, concurrency: 100, ex5Runs: 3, recoverySteps: 10_000, rssSteps: [10_000, 100_000] },
    postgres: { rounds: 9, rawCommits: 1_000, steps: 1_000, sequentialWorkflows: 300, concurrentWorkflows: 1_000, concurrency: 100, ex5Runs: 3, recoverySteps: 10_000, rssSteps: [10_000, 100_000] },
  },
};

export function modeFromArgs(argv: string[]): Mode {
  if (argv.includes('--quick-test')) return 'quick-test';
  if (argv.includes('--full')) return 'full';
  return 'quick';
}
