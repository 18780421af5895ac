// The bench's recovery figure (bench/workloads.ts recoveryOf) at two sizes: recovering a workflow
// with 1,000 recorded steps sends exactly as many statements as one with 10: the recorded outcomes
// are read in one query and replayed from memory, never one query per step. (test/90 runs the
// bench at one size only, where "at most 10 queries" cannot tell O(1) from a small O(n).)
import { afterEach, describe, expect, it } from 'vitest';
import { recoveryOf } from '../bench/workloads.js';
import { BENCH_APP } from '../bench/databases.js';
import { DBOS } from '../lib/index.js';
import { DATABASES, freshDatabase } from './helpers.js';

afterEach(() => DBOS.shutdown());

for (const kind of DATABASES) {
  describe(`${kind}: recovery's queries do not grow with the recorded steps`, () => {
    it('10, 1,000 and 10 recorded steps: the same number of statements', async () => {
      const { choice } = await freshDatabase(kind);
      // A long lease: the heartbeat (one statement every lease/5) does not fall inside a measurement;
      // nor does the background recovery pass (one statement every 3 s: it did, on a loaded machine).
      DBOS.setConfig({ name: BENCH_APP, database: choice, executorLeaseMs: 300_000, recoveryIntervalMs: 0 });
      await DBOS.launch();
      const small = await recoveryOf(10);
      const large = await recoveryOf(1_000);
      const again = await recoveryOf(10);
      expect([small.steps, large.steps, again.steps]).toEqual([10, 1_000, 10]);
      expect(small.queries).toBeGreaterThan(0);
      expect(large.queries).toBe(small.queries);
      expect(again.queries).toBe(small.queries);
    });
  });
}
