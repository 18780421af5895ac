// The scheduler each launched process runs: it reads its application's schedules once a second,
// keeps one loop per ACTIVE schedule whose workflow is registered here, and fires each slot as the
// workflow `sched-<name>-<slot>`. Every process derives the same id for a slot and a workflow id
// starts once (promise 1), so a slot runs once however many schedulers fire it (promise 12).
//
// As DBOS: a loop starts at the current time, so slots missed while no process ran are skipped,
// unless the schedule has automaticBackfill (then each slot since its last_fired_at runs once
// first). A paused schedule's loop stops; resumed, it starts again from the current time.
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../log.js';
import { db, state } from '../state.js';
import type { ScheduleRow } from '../storage/types.js';
import { fireSlot } from './api.js';
import { nextSlot, parseCron, slotsBetween, slotWorkflowID } from './cron.js';

/** ms between two reads of workflow_schedules (DBOS polls every second at start-up) */
export const SCHEDULE_POLL_MS = 1000;

interface Loop {
  controller: AbortController;
  done: Promise<void>;
  signature: string;
}

const loops = new Map<string, Loop>();
let main: { controller: AbortController; done: Promise<void> } | undefined;
const warned = new Set<string>();

/** What a running loop was started with: a change restarts it. */
const signatureOf = (r: ScheduleRow) => JSON.stringify([r.workflowName, r.schedule, r.context, r.cronTimezone, r.queueName, r.automaticBackfill]);

/** Starts this process's scheduler (DBOS.launch calls it). */
export function startScheduler(): void {
  if (main) return;
  const controller = new AbortController();
  main = { controller, done: pollLoop(controller.signal) };
}

/** Stops every loop and waits for them (DBOS.shutdown calls it). Slots already started run on. */
export async function stopScheduler(): Promise<void> {
  if (!main) return;
  main.controller.abort();
  for (const l of loops.values()) l.controller.abort();
  await Promise.allSettled([main.done, ...[...loops.values()].map((l) => l.done)]);
  loops.clear();
  main = undefined;
}

async function pollLoop(signal: AbortSignal): Promise<void> {
  // The first read waits one interval: schedules applied right after launch() are read as applied
  // (a loop started on the old row would fire a slot first, and a backfill would then find nothing).
  while (!signal.aborted) {
    await sleep(SCHEDULE_POLL_MS, undefined, { signal, ref: false }).catch(() => undefined); // never keeps a process alive
    if (signal.aborted) return;
    try {
      const rows = await db().listSchedules({ applicationName: state.appName });
      if (signal.aborted) return; // stopped during the read: a loop started now would outlive stopScheduler()
      const names = new Set(rows.map((r) => r.scheduleName));
      for (const [name, l] of loops) if (!names.has(name)) (l.controller.abort(), loops.delete(name));
      for (const r of rows) reconcile(r);
    } catch (err) {
      log.warn(`scheduler: could not read workflow_schedules (${(err as Error).message}); trying again in ${SCHEDULE_POLL_MS} ms`);
    }
  }
}

function reconcile(r: ScheduleRow): void {
  const running = loops.get(r.scheduleName);
  const signature = signatureOf(r);
  if (running && (r.status !== 'ACTIVE' || running.signature !== signature)) {
    running.controller.abort();
    loops.delete(r.scheduleName);
  }
  if (r.status !== 'ACTIVE' || loops.has(r.scheduleName)) return;
  if (!state.workflows.has(r.workflowName)) {
    if (!warned.has(r.scheduleName)) log.warn(`scheduler: schedule "${r.scheduleName}" runs workflow "${r.workflowName}", not registered in this process: this process leaves it to others`);
    warned.add(r.scheduleName);
    return;
  }
  const controller = new AbortController();
  loops.set(r.scheduleName, { controller, signature, done: scheduleLoop(r, controller.signal) });
}

async function fire(r: ScheduleRow, slot: Date): Promise<void> {
  // The workflow's start is idempotent by id; looking first only saves work (DBOS does the same).
  if (!(await db().getWorkflow(slotWorkflowID(r.scheduleName, slot)))) await fireSlot(r, slot);
  await db().setLastFiredAt(r.scheduleName, slot.toISOString());
}

async function scheduleLoop(r: ScheduleRow, signal: AbortSignal): Promise<void> {
  let cron;
  try {
    cron = parseCron(r.schedule, r.cronTimezone, `schedule "${r.scheduleName}"`);
  } catch (err) {
    return void log.warn(`scheduler: not running schedule "${r.scheduleName}": ${(err as Error).message}`);
  }
  let last = Math.floor(Date.now() / 1000) * 1000;
  if (r.automaticBackfill && r.lastFiredAt) {
    const missed = slotsBetween(cron, Date.parse(r.lastFiredAt), last + 1);
    if (missed.length) log.info(`scheduler: "${r.scheduleName}" backfills ${missed.length} missed slot(s) since ${r.lastFiredAt}`);
    for (const slot of missed) if (!signal.aborted) await fire(r, slot).catch((e) => log.warn(`scheduler: backfill of "${r.scheduleName}" at ${slot.toISOString()} failed: ${(e as Error).message}`));
  }
  while (!signal.aborted) {
    const slot = nextSlot(cron, last);
    if (!slot) return;
    const wait = slot.getTime() - Date.now();
    if (wait > 0 && (await sleep(wait, true, { signal, ref: false }).catch(() => false)) === false) return;
    try {
      await fire(r, slot);
    } catch (err) {
      log.warn(`scheduler: firing "${r.scheduleName}" at ${slot.toISOString()} failed: ${(err as Error).message}`);
    }
    last = slot.getTime();
  }
}
