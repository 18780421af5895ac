// The retry loop's own behaviour: wrong names, runs that fail by exit code, and the name-to-file helper.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { experimentFile, listExperiments } from '../scripts/lib-experiments.js';
import { freshDatabase, marked, runScript } from './helpers.js';

describe('scripts/lib-experiments', () => {
  it('lists the lessons and resolves a name to its file', () => {
    expect(listExperiments()).toEqual(expect.arrayContaining(['ex1', 'ex2', 'ex3', 'ex4']));
    const file = join(PROJECT_ROOT, 'experiments', 'ex3.ts');
    expect(experimentFile('ex3')).toBe(file);
    expect(experimentFile('ex3.ts')).toBe(file);
    expect(experimentFile('experiments/ex3.ts')).toBe(file);
  });

  it('refuses an unknown name, or a path out of experiments/, listing the experiments', () => {
    for (const bad of ['ex99', '../lib/index', '']) {
      expect(() => experimentFile(bad)).toThrow(ConfigError);
      expect(() => experimentFile(bad)).toThrow(/The experiments are: ex1, ex2, ex3, ex4/);
    }
  });
});

describe('scripts/loop.ts', () => {
  it('stops at once with exit 2 and the list of experiments for an unknown name', async () => {
    const r = await runScript('scripts/loop.ts', {}, { args: ['ex99'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no experiment named "ex99"\. The experiments are: ex1, ex2, ex3, ex4/);
    expect(r.stdout).not.toContain('--- loop: run');
  });

  it('refuses a bad --max-runs', async () => {
    const r = await runScript('scripts/loop.ts', {}, { args: ['ex3', '--max-runs', '0'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-runs 0 is not usable: give a whole number >= 1/);
  });

  it('passes the environment through, counts runs failed by exit code, and stops at --max-runs', async () => {
    // A bad seed reaches each run through the environment, and each run refuses it with exit 2
    // before it opens a database (so one database kind is enough here).
    const { env } = await freshDatabase('sqlite');
    const r = await runScript('scripts/loop.ts', { ...env, WORKBOOK_SEED: 'x1', WORKBOOK_LOOP_SLEEP_MS: '10' }, { args: ['ex3', '--max-runs', '2'] });
    expect(r.code).toBe(1);
    expect(r.stderr.match(/BAD INPUT: WORKBOOK_SEED=x1 is not a seed/g)).toHaveLength(2);
    const loop = marked(r, 'LOOP');
    expect(loop).toEqual({ runs: 2, crashed: 0, failed: 2, succeeded: false, ends: ['exit 2', 'exit 2'] });
  });
});
