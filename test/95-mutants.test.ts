// The mutants in the test run: every mutant of mutants/mutants.ts still applies to the code as it
// is (its one line is found exactly once), and the quick subset, each applied to a copy of the
// project, is killed by its tests (npm run mutants -- --quick). The whole set: npm run mutants.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { MUTANTS } from '../mutants/mutants.js';
import { mutate } from '../scripts/mutants.js';
import { marked, runScript } from './helpers.js';

interface Summary { total: number; killed: number; outcomes: { id: string; verdict: string }[] }

describe('mutants', () => {
  it('each mutant changes its file in exactly one place, and one that no longer matches the code fails loudly', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(6);
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
    for (const m of MUTANTS) {
      const text = readFileSync(join(PROJECT_ROOT, m.file), 'utf8');
      const applied = mutate(m, text);
      expect(applied, m.id).toHaveProperty('text');
      const out = (applied as { text: string }).text;
      expect(out, m.id).not.toBe(text);
      expect(out.split('\n').length, m.id).toBe(text.split('\n').length);
      expect(mutate(m, text.replace(m.find, 'moved away')), m.id).toEqual({ problem: expect.stringMatching(/found 0 times/) });
      expect(mutate(m, text + m.find), m.id).toEqual({ problem: expect.stringMatching(/found 2 times/) });
    }
  });

  it('the quick subset: every mutant killed', async () => {
    const quick = MUTANTS.filter((m) => m.quick);
    const r = await runScript('scripts/mutants.ts', {}, { args: ['--quick'], timeoutMs: 840_000 });
    const s = marked<Summary>(r, 'MUTANTS');
    expect(s.outcomes.map((o) => o.id)).toEqual(quick.map((m) => m.id));
    expect(s.outcomes.filter((o) => o.verdict !== 'killed'), r.stdout).toEqual([]);
    expect(s.killed).toBe(quick.length);
    expect(r.code).toBe(0);
  }, 900_000);
});
