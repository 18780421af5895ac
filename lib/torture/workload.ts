// The "counter" workload of the crash torture (scripts/torture.ts): a workflow built to be checked.
//
//   tortureCounter(seed)      30 calls: 27 steps and 3 child workflows (at calls 5, 15, 25), each child
//                             recorded as its start and its awaited result (DBOS.getResult): 33 function ids
//   tortureChild(seed, at)    4 steps
//
// Every step body appends one line to a counter file outside the system database (fsynced), before
// it may fail: "<workflow id> <function id> <execution attempt> <step attempt> <pid> <epoch ms>".
// So the file tells, for each step, every time its body really ran, in which execution of its
// workflow, and when; lib/torture/invariants.ts holds that against operation_outputs.
//
// Deaths and failures come from lib/faults.ts, seeded by WORKBOOK_SEED and salted by the
// execution attempt: process.abort() before and after the side effect, between steps, and just
// before and after a step's outcome is recorded, and between a workflow's last step and its end
// (engine hooks); a seeded failure after the side
// effect makes the step retry. The last attempt never fails on purpose, so every step ends in
// success and the result is the same whatever failed or died on the way (invariant 4).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { currentExecutionAttempt } from '../context.js';
import { DBOS } from '../dbos.js';
import { hooks } from '../engine.js';
import { Faults } from '../faults.js';

export const PARENT_OPERATIONS = 30;
export const CHILD_AT = [5, 15, 25];
export const CHILD_STEPS = 4;

/** The crash sites (process.abort) and the failure site, with their default probabilities. */
export const CRASH_SITES: Record<string, number> = {
  'torture-step-before-effect': 0.005,
  'torture-step-after-effect': 0.005,
  'torture-between-steps': 0.005,
  'torture-before-record': 0.005,
  'torture-after-record': 0.005,
  // Once per execution of each workflow: its function returned, its end and its last step's outcome
  // (pending until then, promise 15) not written yet. Likelier, so that a few dozen runs meet it.
  'torture-before-end': 0.05,
};
export const FAIL_SITE = 'torture-step-fail';
export const FAIL_P = 0.3;

let faults = new Faults({ ...zero(CRASH_SITES), [FAIL_SITE]: 0 });
let counterFile = '';

function zero(sites: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(sites).map((s) => [s, 0]));
}

/**
 * Sets where the counter goes and whether faults are armed. `faults: false` is the crash-free
 * reference run of invariant 4 (no failure either: by design they do not change the result).
 * Call before the workflows run.
 */
export function configureWorkload(opts: { counterFile: string; faults: boolean; env?: NodeJS.ProcessEnv }): void {
  counterFile = opts.counterFile;
  const env = opts.env ?? process.env;
  faults = opts.faults
    ? new Faults({ ...CRASH_SITES, [FAIL_SITE]: FAIL_P }, env)
    : new Faults({ ...zero(CRASH_SITES), [FAIL_SITE]: 0 }, { WORKBOOK_SEED: env.WORKBOOK_SEED });
  hooks.beforeRecord = () => faults.crashHere('torture-before-record');
  hooks.afterRecord = () => faults.crashHere('torture-after-record');
  hooks.beforeEnd = () => faults.crashHere('torture-before-end');
}

/** A step's value: a pure function of (seed, where), so the crash-free result is knowable. */
export function stepValue(seed: number, where: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  h = Math.imul(h ^ where, 0x01000193) >>> 0;
  return (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0) % 1_000_003;
}

/** One line, one write(2), then fsync: a death leaves the line whole or absent. */
function appendCounter(line: string): void {
  const fd = openSync(counterFile, 'a');
  try {
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const counterStep = DBOS.registerStep(
  async function counterStep(seed: number, where: number) {
    faults.crashHere('torture-step-before-effect');
    const s = DBOS.stepStatus!;
    appendCounter(`${DBOS.workflowID} ${s.stepID} ${currentExecutionAttempt()} ${s.currentAttempt} ${process.pid} ${Date.now()}\n`);
    faults.crashHere('torture-step-after-effect');
    // Fail after the side effect (the ex6 trap), but never on the last attempt: the step ends in success.
    if (s.currentAttempt! < s.maxAttempts!) faults.failHere(FAIL_SITE); // set: retries are on
    return stepValue(seed, where);
  },
  { retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0.001, backoffRate: 2 },
);

export const tortureChild = DBOS.registerWorkflow(async function tortureChild(seed: number, at: number) {
  const values: number[] = [];
  for (let j = 0; j < CHILD_STEPS; j++) {
    values.push(await counterStep(seed, at * 100 + j));
    faults.crashHere('torture-between-steps');
  }
  return values.reduce((a, b) => (a + b) % 1_000_003, 0);
});

export const tortureCounter = DBOS.registerWorkflow(async function tortureCounter(seed: number) {
  // The digest folds the values in order, so a value replayed at the wrong function id shows.
  let digest = seed;
  for (let i = 0; i < PARENT_OPERATIONS; i++) {
    const v = CHILD_AT.includes(i) ? await tortureChild(seed, i) : await counterStep(seed, i);
    digest = (Math.imul(digest, 31) + v) >>> 0;
    faults.crashHere('torture-between-steps');
  }
  return { seed, digest };
});

/** The parent's operations by function id: a child called inside a workflow is its start, then its awaited result, as DBOS records them. */
const PARENT_NAMES = Array.from({ length: PARENT_OPERATIONS }, (_, i) => (CHILD_AT.includes(i) ? ['tortureChild', 'DBOS.getResult'] : ['counterStep'])).flat();
/** The children's function ids in the parent (5, 16, 27): their workflow ids are `<root>-<function id>`. */
const CHILD_FUNCTION_IDS = PARENT_NAMES.flatMap((name, functionID) => (name === 'tortureChild' ? [functionID] : []));

/** The workflow ids a run of `rootID` starts: the root and its children. */
export function workflowIDs(rootID: string): string[] {
  return [rootID, ...CHILD_FUNCTION_IDS.map((fid) => `${rootID}-${fid}`)];
}

/** The operations each workflow must have recorded: name per function id. */
export function expectedOperations(rootID: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  m.set(rootID, PARENT_NAMES);
  for (const fid of CHILD_FUNCTION_IDS) m.set(`${rootID}-${fid}`, Array.from({ length: CHILD_STEPS }, () => 'counterStep'));
  return m;
}
