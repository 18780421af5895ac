// Runs one workload process and, when asked, kills it from outside with SIGKILL a given number of
// milliseconds after it printed STARTED (or after the spawn, for a program that prints no such
// marker): so deaths also land inside the engine and the database driver, not only at the sites
// the program chose.
import type { ChildProcess } from 'node:child_process';
import { runFile, type ChildRun } from '../child-run.js';

export interface ChildOutcome extends ChildRun {
  /** true when our SIGKILL ended it (the process had not exited by itself first) */
  killed: boolean;
  /** ms from the spawn (or the marker, when there is one) to the end */
  ms: number;
}

export interface KillPlan {
  afterMs: number;
  /** count from this stdout line; from the spawn when undefined */
  marker?: string;
}

export async function runChild(file: string, env: Record<string, string>, kill?: KillPlan): Promise<ChildOutcome> {
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let t0 = Date.now();
  const arm = (child: ChildProcess) => {
    t0 = Date.now();
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, kill!.afterMs);
  };
  const run = await runFile(file, {
    env: { WORKBOOK_LOG: 'warn', ...env },
    // A hung child is a finding too; the caller reports it (code null, not killed by us as a death).
    timeoutMs: 120_000,
    onSpawn: (child) => {
      if (kill && kill.marker === undefined) arm(child);
    },
    onLine: (line, child) => {
      if (line === kill?.marker && killTimer === undefined) arm(child);
    },
  });
  clearTimeout(killTimer);
  return { ...run, killed: killed && run.signal === 'SIGKILL', ms: Date.now() - t0 };
}
