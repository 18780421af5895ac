// Queues seen from outside (`wf queues`, the timeline page): per queue, what waits, what runs and by
// which executor, live or dead, what ended, which workers serve it, and work no live worker can run.
import { pidAlive } from '../pid.js';
import { HOST } from '../state.js';
import type { SystemDatabase } from '../storage/types.js';

/** an executor whose heartbeat is older is taken for dead, as the engine's default lease (ms) */
const LEASE_MS = Number(process.env.WORKBOOK_LEASE_MS ?? 10_000);

/** An executor seen from outside (wf): its process not gone on this host, its heartbeat younger than the lease. */
export const seemsLive = (ex: { hostname: string; pid: number; heartbeatAt: number }): boolean =>
  !(ex.hostname === HOST && !pidAlive(ex.pid)) && Date.now() - ex.heartbeatAt < LEASE_MS;

async function liveness(db: SystemDatabase): Promise<(executorID: string | null) => Promise<boolean>> {
  const seen = new Map<string, boolean>();
  return async (id) => {
    if (!id) return false;
    if (!seen.has(id)) {
      const ex = await db.getExecutor(id);
      seen.set(id, !!ex && seemsLive(ex));
    }
    return seen.get(id)!;
  };
}

export interface QueueSummary {
  queue: string;
  enqueued: number;
  pending: { executorID: string | null; live: boolean; count: number }[];
  ended: Record<string, number>;
  workers: { executorID: string; live: boolean; workflowNames: string[] }[];
  /** ENQUEUED workflow names that no live worker of the queue registered: they wait for one */
  unserved: { workflowName: string; count: number }[];
}

export async function summarize(db: SystemDatabase): Promise<QueueSummary[]> {
  const alive = await liveness(db);
  const rows = await db.listQueueRows(undefined);
  const workers = await db.listQueueWorkers();
  const names = [...new Set([...rows.map((r) => r.queueName!), ...workers.map((w) => w.queueName)])].sort();
  const out: QueueSummary[] = [];
  for (const queue of names) {
    const mine = rows.filter((r) => r.queueName === queue);
    const ws = await Promise.all(workers.filter((w) => w.queueName === queue).map(async (w) => ({ ...w, live: await alive(w.executorID) })));
    const pending = new Map<string | null, number>();
    for (const r of mine.filter((r) => r.status === 'PENDING')) pending.set(r.executorID, (pending.get(r.executorID) ?? 0) + 1);
    const ended: Record<string, number> = {};
    for (const r of mine.filter((r) => r.status !== 'PENDING' && r.status !== 'ENQUEUED')) ended[r.status] = (ended[r.status] ?? 0) + 1;
    const served = new Set(ws.filter((w) => w.live).flatMap((w) => w.workflowNames));
    const waiting = new Map<string, number>();
    for (const r of mine.filter((r) => r.status === 'ENQUEUED' && !served.has(r.name))) waiting.set(r.name, (waiting.get(r.name) ?? 0) + 1);
    out.push({
      queue, enqueued: mine.filter((r) => r.status === 'ENQUEUED').length,
      pending: await Promise.all([...pending].map(async ([executorID, count]) => ({ executorID, live: await alive(executorID), count }))),
      ended, workers: ws.map(({ executorID, live, workflowNames }) => ({ executorID, live, workflowNames })),
      unserved: [...waiting].map(([workflowName, count]) => ({ workflowName, count })),
    });
  }
  return out;
}

