// The invariants of the chaos torture (lib/torture/chaos.ts), after the faults stopped and the
// workers exited:
//
//   1. every workflow the workers were to start exists and ended SUCCESS: none ERROR (a fault
//      decided its outcome), none left PENDING or ENQUEUED after the run, none never started;
//   2. each workflow recorded each of its steps exactly once: function ids 0..steps-1, named
//      chaosStep, no recorded error;
//   3. the storage is sound (lib/torture/invariants.ts checkStorage: integrity_check on SQLite,
//      named statuses, no step row without its workflow).
//
// "No process crashed" is the run's own check (every worker exited 0 with a RESULT line).
import type { SystemDatabase } from '../storage/types.js';
import { checkStorage } from './invariants.js';

export interface ChaosTally {
  success: number;
  error: number;
  /** PENDING or ENQUEUED after the run */
  unfinished: number;
  /** neither SUCCESS, ERROR nor unfinished (cancelled, parked), or never started */
  other: number;
}

export async function checkChaos(db: SystemDatabase, workflows: number, steps: number, bad: (msg: string) => void): Promise<ChaosTally> {
  const tally: ChaosTally = { success: 0, error: 0, unfinished: 0, other: 0 };
  await checkStorage(db, bad);
  const rows = new Map((await db.listWorkflows({})).map((r) => [r.workflowID, r]));
  for (let i = 0; i < workflows; i++) {
    const id = `chaos-${i}`;
    const r = rows.get(id);
    rows.delete(id);
    if (!r) {
      tally.other++;
      bad(`${id} was never started (no workflow row)`);
      continue;
    }
    if (r.status === 'SUCCESS') tally.success++;
    else if (r.status === 'ERROR') {
      tally.error++;
      bad(`${id} ended ERROR: ${(r.error ?? '').slice(0, 300)}`);
    } else if (r.status === 'PENDING' || r.status === 'ENQUEUED') {
      tally.unfinished++;
      bad(`${id} was left ${r.status} after the run (execution attempt ${r.recoveryAttempts})`);
    } else {
      tally.other++;
      bad(`${id} ended ${r.status}, not SUCCESS`);
    }
    const ops = await db.loadOperations(id);
    const fids = ops.map((o) => o.functionID);
    // A workflow left unfinished has recorded fewer steps: its status already says so.
    const want = r.status === 'SUCCESS' ? steps : fids.length;
    if (fids.length !== want || fids.some((f, k) => f !== k)) bad(`${id}: function ids recorded are [${fids.join(',')}], expected 0..${steps - 1} once each`);
    for (const o of ops) {
      if (o.functionName !== 'chaosStep') bad(`${id} function ${o.functionID}: recorded ${o.functionName}, the code calls chaosStep`);
      if (o.error !== null) bad(`${id} function ${o.functionID}: recorded an error (${o.error.slice(0, 200)})`);
    }
  }
  for (const r of rows.values()) bad(`unexpected workflow ${r.workflowID} (${r.name}, ${r.status})`);
  return tally;
}
