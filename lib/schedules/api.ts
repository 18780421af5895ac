// Scheduled workflows as DBOS 5.x names them: DBOS.createSchedule / applySchedules register a cron
// schedule for a workflow in workflow_schedules; listSchedules, getSchedule, pauseSchedule,
// resumeSchedule, deleteSchedule, backfillSchedule, triggerSchedule steer it. Each process's
// scheduler (scheduler.ts) fires the ACTIVE schedules of its application.
//
// The workflow is called as DBOS TS calls it, (scheduledDate, context), plus the actual start time
// as a third argument (DBOS Python passes scheduled and actual time): (scheduledDate, context, startedAt).
// Each is stored with the workflow's inputs; until values are stored as SuperJSON a Date arrives as
// its ISO string, so `new Date(x)` reads both.
import { randomUUID } from 'node:crypto';
import { startWorkflow } from '../engine.js';
import type { WorkflowHandle } from '../handle.js';
import { ConfigError } from '../errors.js';
import { deserialize, serialize } from '../serialize.js';
import { db, state, type AnyFn } from '../state.js';
import type { ScheduleRow } from '../storage/types.js';
import { parseCron, slotsBetween, slotWorkflowID } from './cron.js';
import { registrationOf } from '../dbos.js';

export interface ScheduleOptions {
  /** after downtime, run each missed slot once (default false: missed slots are skipped, as DBOS) */
  automaticBackfill?: boolean;
  /** IANA time zone the expression is read in (default: the process's, as croner) */
  cronTimezone?: string;
  /** stored as DBOS stores it; the slot runs directly (no queue) in this workbook */
  queueName?: string;
}

export interface ScheduleDefinition {
  scheduleName: string;
  /** a registered workflow: (scheduledDate, context, startedAt) */
  workflowFn: AnyFn;
  /** cron: 5 fields, or 6 with seconds first ("*\/2 * * * * *") */
  schedule: string;
  /** passed to every run (default null) */
  context?: unknown;
}

/** What listSchedules returns: DBOS's WorkflowSchedule. */
export interface WorkflowSchedule extends Omit<ScheduleRow, 'scheduleID' | 'context'> {
  scheduleId: string;
  context: unknown;
}

function rowOf(def: ScheduleDefinition, o: ScheduleOptions): ScheduleRow {
  if (typeof def.scheduleName !== 'string' || !def.scheduleName) throw new ConfigError('A schedule needs a scheduleName: a non-empty string.');
  const reg = registrationOf(def.workflowFn);
  parseCron(def.schedule, o.cronTimezone, `schedule "${def.scheduleName}"`);
  return {
    scheduleID: randomUUID(), scheduleName: def.scheduleName, workflowName: reg.name, workflowClassName: null, schedule: def.schedule,
    status: 'ACTIVE', context: serialize(def.context ?? null, `the context of schedule ${def.scheduleName}`) ?? 'null', lastFiredAt: null,
    automaticBackfill: o.automaticBackfill ?? false, cronTimezone: o.cronTimezone ?? null, queueName: o.queueName ?? null, applicationName: state.appName,
  };
}

const toSchedule = ({ scheduleID, context, ...r }: ScheduleRow): WorkflowSchedule => ({ ...r, scheduleId: scheduleID, context: deserialize(context) });

/** Registers a new schedule; its name must be free (DBOS.createSchedule). */
export async function createSchedule(def: ScheduleDefinition & { options?: ScheduleOptions }): Promise<void> {
  if (!(await db().putSchedule(rowOf(def, def.options ?? {}), 'insert'))) {
    throw new ConfigError(`A schedule named "${def.scheduleName}" exists already: pick another name, or use DBOS.applySchedules to update it.`);
  }
}

/** Creates or updates each schedule; an update keeps its status (a paused one stays paused) and its last slot. */
export async function applySchedules(defs: (ScheduleDefinition & ScheduleOptions)[]): Promise<void> {
  for (const d of defs) await db().putSchedule(rowOf(d, d), 'upsert');
}

export async function listSchedules(filter: { status?: string; applicationName?: string } = {}): Promise<WorkflowSchedule[]> {
  return (await db().listSchedules({ applicationName: filter.applicationName ?? state.appName, status: filter.status })).map(toSchedule);
}

export async function getSchedule(name: string): Promise<WorkflowSchedule | null> {
  const [row] = await db().listSchedules({ scheduleName: name });
  return row ? toSchedule(row) : null;
}

async function mustSchedule(name: string): Promise<ScheduleRow> {
  const [row] = await db().listSchedules({ scheduleName: name });
  if (!row) throw new ConfigError(`There is no schedule named "${name}": DBOS.listSchedules() (or npm run wf -- schedules) shows them.`);
  return row;
}

export async function pauseSchedule(name: string): Promise<void> {
  if (!(await db().setScheduleStatus(name, 'PAUSED'))) await mustSchedule(name);
}

export async function resumeSchedule(name: string): Promise<void> {
  if (!(await db().setScheduleStatus(name, 'ACTIVE'))) await mustSchedule(name);
}

export async function deleteSchedule(name: string): Promise<void> {
  await db().deleteSchedule(name);
}

/** Starts the slot's workflow under its derived id: a slot already started elsewhere is attached to, not run again. */
export async function fireSlot(row: ScheduleRow, slot: Date, workflowID = slotWorkflowID(row.scheduleName, slot)): Promise<WorkflowHandle<unknown>> {
  const reg = state.workflows.get(row.workflowName);
  if (!reg) throw new ConfigError(`Schedule "${row.scheduleName}" runs workflow "${row.workflowName}", which is not registered in this process: register it before DBOS.launch().`);
  return startWorkflow(reg, [slot, deserialize(row.context), new Date()], workflowID);
}

/** Runs each slot in (start, end) once (DBOS.backfillSchedule). */
export async function backfillSchedule(name: string, start: Date, end: Date): Promise<WorkflowHandle<unknown>[]> {
  const row = await mustSchedule(name);
  const handles: WorkflowHandle<unknown>[] = [];
  for (const slot of slotsBetween(parseCron(row.schedule, row.cronTimezone), start.getTime(), end.getTime())) handles.push(await fireSlot(row, slot));
  return handles;
}

/** Runs the schedule's workflow now, outside its slots (DBOS.triggerSchedule: id sched-<name>-trigger-<now>). */
export async function triggerSchedule(name: string): Promise<WorkflowHandle<unknown>> {
  const row = await mustSchedule(name);
  const now = new Date();
  return fireSlot(row, now, `sched-${name}-trigger-${now.toISOString()}`);
}
