// What the web page (npm run ui) shows, read from the system database as JSON. Nothing here writes.
// Every string from the database goes out through printable() (lib/printable.ts), so a control
// character in an id or an output reaches the page as a visible escape (\x1b, \n); the page puts
// every value into the document as text, never as markup (lib/ui/public/app.js). A row's own id
// goes out a second time as `key`, unchanged, for the page to ask for it again.
import { formatMs, timelineModel } from '../harness/timeline.js';
import { pidAlive } from '../pid.js';
import { printable, printableRow } from '../printable.js';
import { slotWorkflowID } from '../schedules/cron.js';
import { shown } from '../serialize.js';
import { HOST } from '../state.js';
import { isUnfinished, WORKFLOW_STATUSES, type OperationRow, type SystemDatabase, type WorkflowRow } from '../storage/types.js';
import { errorLines } from '../wf/actions.js';
import { summarize } from '../wf/queues.js';
import { lanesOf } from './lanes.js';

/** Stored text as a person reads it (shown()), or as stored when it is not readable JSON. */
export function value(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  try {
    return printable(shown(text) ?? 'null');
  } catch {
    return printable(text);
  }
}

function errorText(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    return errorLines(text);
  } catch {
    return [printable(text)];
  }
}

/** A workflow row for the list: printable fields, its raw id as `key`. */
function listed(w: WorkflowRow) {
  const p = printableRow(w);
  return {
    key: w.workflowID, id: p.workflowID, name: p.name, status: p.status, applicationID: p.applicationID, applicationVersion: p.applicationVersion,
    queue: p.queueName ?? null, createdAt: w.createdAt, updatedAt: w.updatedAt, recoveryAttempts: w.recoveryAttempts,
    took: isUnfinished(w.status) ? null : formatMs(w.updatedAt - w.createdAt), parentKey: w.parentWorkflowID, parent: p.parentWorkflowID,
    damaged: w.damaged ? printable(`${w.damaged.column}: ${w.damaged.problem}`) : null,
  };
}
export type ListedWorkflow = ReturnType<typeof listed> & { children: ListedWorkflow[] };

export interface ListQuery {
  app?: string;
  status?: string;
  name?: string;
  /** created in the last this many ms */
  sinceMs?: number;
  limit?: number;
}

/** Newest first; a child whose parent is listed is folded under it (ex5's batches under their run). */
export async function listWorkflowsView(db: SystemDatabase, q: ListQuery) {
  const limit = Math.min(500, Math.max(1, q.limit ?? 50));
  const status = q.status?.split(',').map((s) => s.trim().toUpperCase()).filter((s) => (WORKFLOW_STATUSES as readonly string[]).includes(s));
  const rows = await db.listWorkflows({
    applicationID: q.app || undefined, workflowName: q.name || undefined, status: status?.length ? status : undefined,
    startTime: q.sinceMs ? Date.now() - q.sinceMs : undefined, sortDesc: true, limit: limit * 4,
  });
  const byKey = new Map<string, ListedWorkflow>(rows.map((r) => [r.workflowID, { ...listed(r), children: [] }]));
  const top: ListedWorkflow[] = [];
  for (const w of byKey.values()) {
    const parent = w.parentKey ? byKey.get(w.parentKey) : undefined;
    if (parent) parent.children.push(w);
    else top.push(w);
  }
  return { workflows: top.slice(0, limit), more: top.length > limit || rows.length === limit * 4 };
}

async function executorInfo(db: SystemDatabase, executorID: string | null) {
  if (!executorID) return null;
  const ex = await db.getExecutor(executorID);
  if (!ex) return { id: printable(executorID), host: null, pid: null, alive: null };
  const alive = ex.hostname === HOST ? pidAlive(ex.pid) : null;
  return { id: printable(executorID), host: printable(ex.hostname), pid: ex.pid, alive };
}

function stepView(o: OperationRow) {
  return {
    functionID: o.functionID, name: printable(o.functionName), run: o.executionAttempt ?? null, attempts: o.attempts,
    start: o.startedAtEpochMs, end: o.completedAtEpochMs, took: formatMs(o.completedAtEpochMs - o.startedAtEpochMs),
    output: o.error === null && o.childWorkflowID === null ? value(o.output) : null, error: errorText(o.error),
    childKey: o.childWorkflowID, child: o.childWorkflowID === null ? null : printable(o.childWorkflowID),
  };
}

/** One workflow: its row, steps, executions (lanes) and the gaps between them, children, events and messages. */
export async function workflowView(db: SystemDatabase, id: string) {
  const w = await db.getWorkflow(id);
  if (!w) return null;
  const ops = await db.loadOperations(id);
  const model = timelineModel(w, ops);
  const events = await db.listEvents(id);
  const messages = await db.listMessages(id);
  const childRows = await db.listWorkflows({ parentWorkflowID: id, limit: 200 });
  return {
    workflow: {
      ...listed(w), inputs: value(w.inputs), output: w.status === 'SUCCESS' ? value(w.output) : null, error: errorText(w.error),
      executor: await executorInfo(db, w.executorID), finished: model.finished,
    },
    t0: model.t0, tEnd: model.tEnd,
    steps: model.sorted.map(stepView),
    lanes: lanesOf(w, model),
    gaps: model.gaps.map((g) => ({ after: g.after, before: g.before, silent: g.silent, start: g.start, end: g.end, took: formatMs(g.end - g.start) })),
    children: childRows.map(listed),
    events: events.map((e) => ({ key: printable(e.key), value: value(e.value) })),
    messages: messages.map((m) => ({ topic: m.topic === null ? null : printable(m.topic), message: value(m.message), created: m.createdAt, consumed: m.consumed })),
  };
}

/** Per queue: depth, in flight per executor (live or dead), ended, workers, work nobody can run, and dequeue latency. */
export async function queuesView(db: SystemDatabase) {
  const all = await summarize(db);
  const out = [];
  for (const q of all) {
    const rows = await db.listQueueRows(q.queue);
    const waits = rows.filter((r) => r.startedAtEpochMs).slice(-200).map((r) => r.startedAtEpochMs! - r.createdAt).sort((a, b) => a - b);
    const pct = (f: number) => (waits.length ? formatMs(waits[Math.min(waits.length - 1, Math.floor(f * waits.length))]) : null);
    out.push({
      queue: printable(q.queue), enqueued: q.enqueued, ended: q.ended,
      pending: q.pending.map((x) => ({ executor: x.executorID === null ? null : printable(x.executorID), live: x.live, count: x.count })),
      workers: q.workers.map((x) => ({ executor: printable(x.executorID), live: x.live, workflowNames: x.workflowNames.map(printable) })),
      unserved: q.unserved.map((u) => ({ workflowName: printable(u.workflowName), count: u.count })),
      latency: { dequeued: waits.length, p50: pct(0.5), p90: pct(0.9), max: waits.length ? formatMs(waits.at(-1)!) : null },
    });
  }
  return { queues: out };
}

/** Each schedule, and its latest slots: the time it was due (from the slot's workflow id) and when its workflow was created. */
export async function schedulesView(db: SystemDatabase, app?: string) {
  const rows = await db.listSchedules({ applicationName: app || undefined });
  const out = [];
  for (const r of rows) {
    const prefix = slotWorkflowID(r.scheduleName, new Date(0)).slice(0, -new Date(0).toISOString().length);
    const fired = (await db.listWorkflows({ workflowName: r.workflowName, sortDesc: true, limit: 200 })).filter((w) => w.workflowID.startsWith(prefix)).slice(0, 20);
    out.push({
      name: printable(r.scheduleName), cron: printable(r.schedule), status: r.status, workflowName: printable(r.workflowName),
      lastFiredAt: r.lastFiredAt === null ? null : printable(r.lastFiredAt), backfill: r.automaticBackfill, application: r.applicationName === null ? null : printable(r.applicationName),
      slots: fired.map((w) => {
        const due = Date.parse(w.workflowID.slice(prefix.length));
        return { key: w.workflowID, id: printable(w.workflowID), due: Number.isNaN(due) ? null : due, created: w.createdAt, lateMs: Number.isNaN(due) ? null : w.createdAt - due, status: w.status };
      }),
    });
  }
  return { schedules: out };
}
