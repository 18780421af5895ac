// Turns an experiment's name ("ex3") into its file, for the scripts that run lessons (the retry
// loop, and later the profilers and the torture test). A wrong name gets the list of right ones.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';

const DIR = join(PROJECT_ROOT, 'experiments');

/** The experiments there are, by name (ex1, ex2 ...), in lesson order. */
export function listExperiments(): string[] {
  if (!existsSync(DIR)) return [];
  return readdirSync(DIR)
    .filter((f) => /^[a-z][a-z0-9_-]*\.ts$/i.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The absolute path of experiment `name` ("ex3", "ex3.ts" or "experiments/ex3.ts" all work). */
export function experimentFile(name: string): string {
  const bare = name.trim().replace(/^(\.\/)?experiments\//, '').replace(/\.ts$/, '');
  const known = listExperiments();
  if (!known.includes(bare)) {
    const list = known.length ? known.join(', ') : 'none (experiments/ is empty)';
    throw new ConfigError(`There is no experiment named "${name}". The experiments are: ${list}. Give one of these names, e.g. ${known[0] ?? 'ex1'}.`);
  }
  return join(DIR, `${bare}.ts`);
}
