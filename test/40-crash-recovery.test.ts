// Promise 7 with real processes: a child runs a workflow and dies (SIGKILL from outside at a random
// point, or process.abort() from inside right after a step was recorded); a second child recovers it.
// The counter file proves that no step whose outcome was recorded ran again. What was recorded
// at the death is read from the database itself (not guessed from the child's printed lines), and
// the death must be the planned one (our SIGKILL at the marker, or the child's own abort), not the
// runner's timeout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../lib/storage/open.js';
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
        const { env, choice } = await freshDatabase(kind);
        const counter = join(env.WORKBOOK_DATA_DIR, 'counter');
        const base = { ...env, COUNTER_FILE: counter, WORKFLOW_ID: `wf-${death}`, STEPS: String(STEPS) };
        let killedAtMarker = false;
        const first = await runScript(FIXTURE, { ...base, MODE: 'start', CRASH_AFTER: death === 'abort' ? '3' : '' }, {
          timeoutMs: 60_000,
          onLine: (line, child) => {
            if (death === 'SIGKILL' && line === 'RECORDED 4' && !killedAtMarker) {
              killedAtMarker = true;
              child.kill('SIGKILL'); // lands in step 5 or the engine
            }
          },
        });
        expect(first.signal).toBe(death === 'abort' ? 'SIGABRT' : 'SIGKILL');
        expect(killedAtMarker).toBe(death === 'SIGKILL'); // a SIGKILL that is not ours is the runner's timeout
        expect(first.stdout).not.toMatch(/RESULT/);
        // What the database holds at the death: steps 0..k recorded, nothing after a gap.
        const recorded = await withDatabase(choice, 'crashfix', 'crash-recovery-test', async (db) => (await db.loadOperations(`wf-${death}`)).map((o) => o.functionID));
        const recordedBeforeDeath = recorded.length - 1;
        expect(recorded).toEqual([...Array(recorded.length).keys()]);
        expect(recordedBeforeDeath).toBeGreaterThanOrEqual(death === 'abort' ? 3 : 4);
        if (death === 'abort') expect(recordedBeforeDeath).toBe(3);

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
