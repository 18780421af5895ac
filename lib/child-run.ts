// Runs a file of this project as a child process, from the project root: `node --import tsx <file>`
// (a .mjs bundle, lib/torture/bundle.ts, on plain node), and collects what it prints. The crash
// torture's workload processes and the bench's children start here. (The crash-test harness has
// its own, lib/harness/spawn.ts: it reads events from file descriptor 3, in the caller's directory.)
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from './config.js';

export interface ChildRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** its last 100,000 characters or more, when the child wrote over 200,000 */
  stderr: string;
  /** ms from the spawn to the end */
  ms: number;
}

export interface RunOptions {
  args?: string[];
  /** added to this process's environment (undefined unsets a variable) */
  env?: Record<string, string | undefined>;
  /** SIGKILL after this many ms, for a child that hangs; none when undefined */
  timeoutMs?: number;
  /** called right after the spawn */
  onSpawn?: (child: ChildProcess) => void;
  /** each stdout line as it comes, without its newline; an unterminated last line at the end */
  onLine?: (line: string, child: ChildProcess) => void;
}

export function runFile(file: string, opts: RunOptions = {}): Promise<ChildRun> {
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const path = resolve(PROJECT_ROOT, file);
    const child = spawn(process.execPath, [...(file.endsWith('.mjs') ? [] : ['--import', 'tsx']), path, ...(opts.args ?? [])], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      if (!opts.onLine) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000); // a chatty child must not eat memory
    });
    const guard = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    opts.onSpawn?.(child);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (opts.onLine && partial) opts.onLine(partial, child);
      done({ pid: child.pid ?? -1, code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The JSON after `marker` ("RESULT: ") on the first stdout line that starts with it; undefined when none does. */
export function markedJson<T = unknown>(stdout: string, marker: string): T | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(marker));
  return line === undefined ? undefined : (JSON.parse(line.slice(marker.length)) as T);
}
