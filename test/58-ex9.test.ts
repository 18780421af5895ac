// ex9 as a user runs it (fewer slots): two schedulers, one SIGKILLed mid-slot and restarted; every
// slot ran once (COUNT(*) per slot = 1), nothing is left unfinished, the killed slot was recovered,
// and another process read every slot's batch_status with getEvent.
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabase, resultOf, runScript } from './helpers.js';

interface Ex9 { slots: number; maxPerSlot: number; completed: number; skipped: number; failed: number; byProcess: Record<string, number>; recovered: number; unfinished: number; eventsRead: number }

for (const kind of DATABASES) {
  describe(`${kind}: ex9`, () => {
    it('each slot runs once across two schedulers and a SIGKILL; events are read from another process', async () => {
      const { env } = await freshDatabase(kind);
      const r = await runScript('experiments/ex9.ts', { ...env, EX9_SLOTS: '10' }, { timeoutMs: 280_000 });
      expect(r.code, r.stderr).toBe(0);
      const out = resultOf(r) as Ex9;
      expect(out.slots).toBeGreaterThanOrEqual(10);
      expect(out.maxPerSlot).toBe(1);
      expect(out.unfinished).toBe(0);
      expect(out.completed + out.skipped + out.failed).toBe(out.slots);
      expect(out.completed).toBeGreaterThan(0);
      expect(out.eventsRead).toBe(out.slots);
      expect(out.byProcess.B).toBeGreaterThan(0);
      if (/A was SIGKILLed in the middle of slot/.test(r.stdout)) expect(out.recovered).toBe(1);
      expect(r.stdout).toMatch(/COUNT\(\*\) = 1 \(max 1\)/);
    }, 300_000);
  });
}
