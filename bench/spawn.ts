// Runs a TypeScript file of this project as a child process (node --import tsx), line by line.
import { markedJson as jsonAfter, runFile, type ChildRun } from '../lib/child-run.js';

export type { ChildRun };

export function runTs(file: string, args: string[], env: Record<string, string | undefined>, onLine?: (line: string) => void): Promise<ChildRun> {
  return runFile(file, { args, env, onLine });
}

/** The JSON after `marker` on a line of stdout ("RESULT: ", "RSS: "), or an error that shows what the child said. */
export function markedJson<T>(run: ChildRun, marker: string, what: string): T {
  const value = run.code === 0 ? jsonAfter<T>(run.stdout, marker) : undefined;
  if (value === undefined) {
    throw new Error(`${what} failed (exit ${run.code}, signal ${run.signal}); no usable "${marker}" line.\nstdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-2000)}`);
  }
  return value;
}
