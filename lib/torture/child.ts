// Runs one workload process and, when asked, kills it from outside with SIGKILL a given number of
// milliseconds after it printed STARTED (or after the spawn, for a program that prints no such
// marker): so deaths also land inside the engine and the database driver, not only at the sites
// the program chose.
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../config.js';
import { resolve as resolvePath } from 'node:path';

export interface ChildOutcome {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
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

export function runChild(file: string, env: Record<string, string>, kill?: KillPlan, timeoutMs = 120_000): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    // A bundle (lib/torture/bundle.ts) runs on plain node; TypeScript through tsx.
    const args = file.endsWith('.mjs') ? [resolvePath(PROJECT_ROOT, file)] : ['--import', 'tsx', resolvePath(PROJECT_ROOT, file)];
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, WORKBOOK_LOG: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let killTimer: NodeJS.Timeout | undefined;
    let t0 = Date.now();
    const killNow = () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    if (kill && kill.marker === undefined) killTimer = setTimeout(killNow, kill.afterMs);
    child.stdout.on('data', (c: Buffer) => {
      const before = stdout;
      stdout += c.toString();
      const m = kill?.marker === undefined ? undefined : `${kill.marker}\n`;
      if (m && !before.includes(m) && stdout.includes(m)) {
        t0 = Date.now();
        killTimer = setTimeout(killNow, kill!.afterMs);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000); // a chatty child must not eat memory
    });
    // A hung child is a finding too; the caller reports it (code null, not killed by us as a death).
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(guard);
      resolve({ pid: child.pid ?? -1, code, signal, stdout, stderr, killed: killed && signal === 'SIGKILL', ms: Date.now() - t0 });
    });
  });
}
