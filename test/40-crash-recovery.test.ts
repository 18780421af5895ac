// Promise 7 with real processes: a child runs a workflow and dies (SIGKILL from outside at a random
// point, or process.abort() from inside right after a step was recorded); a second child recovers it.
// The counter file proves that no step whose outcome was recorded ran again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASES, freshDatabase, resultOf, runScript } from './helpers.js';

const FIXTURE = 'test/fixtures/crash-counter.ts';
const STEPS = 8;
const EXPECTED = Array.from({ length: STEPS }, (_, i) => i * i).reduce((a, b) => a + b, 0);

function bodyRuns(file: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) m.set(Number(l), (m.get(Number(l)) ?? 0) + 1);
  return m;
}

for (const kind of DATABASES) {
  describe(`${kind}: a killed workflow finishes on the next start`, () => {
    for (const death of ['SIGKILL', 'abort'] as const) {
      it(`${death}: recorded steps never run again`, async () => {
        const { env } = await freshDatabase(kind);
        const counter = join(env.WORKBOOK_DATA_DIR, 'counter');
        const base = { ...env, COUNTER_FILE: counter, WORKFLOW_ID: `wf-${death}`, STEPS: String(STEPS) };
        let recordedBeforeDeath = -1;
        const first = await runScript(FIXTURE, { ...base, MODE: 'start', CRASH_AFTER: death === 'abort' ? '3' : '' }, {
          onLine: (line, child) => {
            const m = /^RECORDED (\d+)$/.exec(line);
            if (!m) return;
            recordedBeforeDeath = Number(m[1]);
            if (death === 'SIGKILL' && recordedBeforeDeath === 4) child.kill('SIGKILL'); // lands in step 5 or the engine
          },
        });
        expect(first.signal).toBe(death === 'abort' ? 'SIGABRT' : 'SIGKILL');
        expect(first.stdout).not.toMatch(/RESULT/);
        expect(recordedBeforeDeath).toBeGreaterThanOrEqual(3);

        const second = await runScript(FIXTURE, { ...base, MODE: 'recover' });
        expect(second.code, second.stderr).toBe(0);
        expect(second.stdout).toMatch(`RECOVERED: ["wf-${death}"]`);
        expect(resultOf(second)).toBe(EXPECTED);

        const runs = bodyRuns(counter);
        expect([...runs.keys()].sort((a, b) => a - b)).toEqual([...Array(STEPS).keys()]);
        for (const [fid, n] of runs) {
          // A step recorded before the death ran once. Only the step in flight may have run twice.
          if (fid <= recordedBeforeDeath) expect(n, `step ${fid}`).toBe(1);
          else expect(n, `step ${fid}`).toBeLessThanOrEqual(fid === recordedBeforeDeath + 1 ? 2 : 1);
        }
      });
    }
  });
}
