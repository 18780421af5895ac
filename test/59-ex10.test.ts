// ex10 as a user runs it: a workflow waiting for a person survives a crash while it waits, receives
// the answer sent from another process exactly once, and a recovered wait past its recorded
// deadline times out at once (it does not wait its whole timeout again).
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabase, resultOf, runScript } from './helpers.js';

interface Ex10 {
  part1: { decision: string; messages: number; consumed: number; recvs: number; decides: number };
  part2: { decision: string; recvWaitedMs: number; timeoutS: number };
}

for (const kind of DATABASES) {
  describe(`${kind}: ex10`, () => {
    it('the answer is received once after a crash; the timeout path expires at the recorded deadline', async () => {
      const { env } = await freshDatabase(kind);
      const r = await runScript('experiments/ex10.ts', { ...env, EX10_TIMEOUT_S: '3' }, { timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      const out = resultOf(r) as Ex10;
      expect(out.part1).toEqual({ decision: 'approved', messages: 1, consumed: 1, recvs: 1, decides: 1 });
      expect(out.part2.decision).toBe('expired');
      expect(out.part2.recvWaitedMs).toBeLessThan(1000); // a fresh deadline would have waited 3000 ms
      // The table's text, as DBOS 5.x stores a value: SuperJSON with its marker.
      expect(r.stdout).toMatch(/notifications {6}approval \{"json":\{"approved":true,"by":"alice"\},"__dbos_serializer":"superjson"\} consumed=false/);
      expect(r.stdout).toMatch(/consumed=true by function 2/);
    });
  });
}
