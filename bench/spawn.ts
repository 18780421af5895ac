// Runs a TypeScript file of this project as a child process (node --import tsx), line by line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/config.js';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runTs(file: string, args: string[], env: Record<string, string | undefined>, onLine?: (line: string) => void): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, file), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      if (!onLine) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (onLine && partial) onLine(partial);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The JSON after `marker` on a line of stdout ("RESULT: ", "RSS: "), or an error that shows what the child said. */
export function markedJson<T>(run: ChildRun, marker: string, what: string): T {
  const line = run.stdout.split('\n').find((l) => l.startsWith(marker));
  if (!line || run.code !== 0) {
    throw new Error(`${what} failed (exit ${run.code}, signal ${run.signal}); no usable "${marker}" line.\nstdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-2000)}`);
  }
  return JSON.parse(line.slice(marker.length)) as T;
}
