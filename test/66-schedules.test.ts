// Promise 12, schedules, with real scheduler processes (test/fixtures/schedule-worker.ts, a slot
// every second): two schedulers fire every slot and each slot runs once; slots missed while no
// scheduler ran are skipped by default and run once each with automaticBackfill; a schedule paused
// with `wf schedules pause` fires nothing more. And, in this process, the path a second scheduler
// takes when a slot's workflow exists already: it attaches, and leaves it to its live owner.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DBOS, slotWorkflowID } from '../lib/index.js';
import { serialize } from '../lib/serialize.js';
import { state } from '../lib/state.js';
import { withDatabase } from '../lib/storage/open.js';
import { wf } from '../scripts/wf.js';
import { DATABASES, freshDatabase, runScript, type RunResult } from './helpers.js';

const WORKER = 'test/fixtures/schedule-worker.ts';
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await DBOS.shutdown();
});

/** The slots whose step ran in this process. */
const ranHere: string[] = [];
const tickHere = DBOS.registerWorkflow(async function tickHere(scheduled: Date) {
  const slot = new Date(scheduled).toISOString();
  await DBOS.runStep(async () => void ranHere.push(slot), { name: 'effect' });
  return slot;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scheduler(env: Record<string, string>): { ready: Promise<ChildProcess>; done: Promise<RunResult> } {
  let ready!: (c: ChildProcess) => void;
  const p = new Promise<ChildProcess>((r) => (ready = r));
  const done = runScript(WORKER, env, { onLine: (l, c) => (children.includes(c) || children.push(c), l === 'READY' && ready(c)) });
  return { ready: p, done };
}

async function stop(s: { ready: Promise<ChildProcess>; done: Promise<RunResult> }): Promise<void> {
  (await s.ready).kill('SIGTERM');
  const r = await s.done;
  expect(r.stdout, r.stderr).toMatch(/STOPPED/);
}

/** slot -> pids that ran its step */
function effects(file: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  if (!existsSync(file)) return m;
  for (const [slot, pid] of readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '))) m.set(slot, [...(m.get(slot) ?? []), pid]);
  return m;
}

const seconds = (slots: string[]) => slots.map((s) => Date.parse(s) / 1000).sort((a, b) => a - b);

for (const kind of DATABASES) {
  describe(`${kind}: scheduled workflows`, () => {
    it("a slot this process is starting is not recovered by this process's own recovery pass meanwhile", async () => {
      // The start's insert has committed, but its reply comes late (a loaded machine, a slow network):
      // meanwhile the row names this executor and nothing runs here yet. The recovery pass (every
      // few seconds in a scheduler process) must not take that for an orphan and run it a second time.
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'sched3', database: choice, recoveryIntervalMs: 0 });
      await DBOS.launch();
      const db = state.db!;
      const insertWorkflow = db.insertWorkflow.bind(db);
      let inserted!: () => void;
      const committed = new Promise<void>((r) => (inserted = r));
      db.insertWorkflow = async (w) => {
        const got = await insertWorkflow(w);
        inserted();
        await new Promise((r) => setTimeout(r, 300));
        return got;
      };
      const slot = new Date(Math.floor(Date.now() / 1000) * 1000);
      const id = slotWorkflowID('own', slot);
      ranHere.length = 0;
      const start = DBOS.startWorkflow(tickHere, { workflowID: id })(slot);
      await committed;
      const report = await DBOS.recoverPendingWorkflows();
      expect(report.recovered.map((h) => h.workflowID)).toEqual([]);
      await (await start).getResult();
      const row = await DBOS.getWorkflowStatus(id);
      expect([row?.status, row?.recoveryAttempts]).toEqual(['SUCCESS', 1]);
      expect(ranHere).toEqual([slot.toISOString()]); // its step ran once
    });

    it("a slot's workflow owned by a live scheduler is attached to, not taken over", async () => {
      // The other scheduler: a live process of this host (our parent, the test runner) with a fresh
      // heartbeat, stamped by the database's clock, owns the slot's workflow and runs it.
      ranHere.length = 0;
      const { choice } = await freshDatabase(kind);
      const slot = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
      const id = slotWorkflowID('attach', slot);
      await withDatabase(choice, 'sched2', 't66-setup', async (db) => {
        await db.upsertExecutor({ executorID: 'other-scheduler', hostname: hostname(), pid: process.ppid });
        await db.insertWorkflow({ workflowID: id, name: 'tickHere', inputs: serialize([slot, null, slot], 'the inputs'), executorID: 'other-scheduler',
          applicationID: 'sched2', applicationVersion: 'v66', parentWorkflowID: null, now: Date.now() });
      });
      DBOS.setConfig({ name: 'sched2', database: choice, applicationVersion: 'v66' }); // the version the row above names: a process leaves other versions' workflows alone
      await DBOS.launch();
      expect(DBOS.lastRecovery().ownedElsewhere).toEqual([id]);
      await DBOS.createSchedule({ scheduleName: 'attach', workflowFn: tickHere, schedule: '* * * * * *' });
      await DBOS.pauseSchedule('attach'); // only the backfill below fires it
      // This scheduler fires the same slot (fireSlot, as its loop does): the start finds the id taken.
      const [handle] = await DBOS.backfillSchedule('attach', new Date(slot.getTime() - 1), new Date(slot.getTime() + 1));
      expect(handle.workflowID).toBe(id);
      const row = await DBOS.getWorkflowStatus(id);
      expect([row?.status, row?.executorId, row?.recoveryAttempts]).toEqual(['PENDING', 'other-scheduler', 1]);
      expect(ranHere).toEqual([]); // the step did not run here
    });

    it('two schedulers: every slot runs once; missed slots are skipped, then backfilled once; pause stops it', async () => {
      const { env, choice } = await freshDatabase(kind);
      const file = join(env.WORKBOOK_DATA_DIR, 'effects');
      const base = { ...env, EFFECTS_FILE: file };
      // 1. Two schedulers for a few seconds.
      const a = scheduler(base);
      const b = scheduler(base);
      await Promise.all([a.ready, b.ready]);
      await sleep(4000);
      await Promise.all([stop(a), stop(b)]);
      const ran = effects(file);
      expect(ran.size).toBeGreaterThanOrEqual(3);
      for (const [slot, pids] of ran) expect(pids, slot).toHaveLength(1); // once per slot, never twice
      const s1 = seconds([...ran.keys()]);
      const newSlotAfter = async (last: number) => {
        for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
          if (seconds([...effects(file).keys()]).some((x) => x > last)) return;
        }
      };
      expect(s1.at(-1)! - s1[0] + 1).toBe(s1.length); // and no slot left out while they ran
      const rows = await withDatabase(choice, 'sched', 't66', (db) => db.listWorkflows({ workflowName: 'tick' }));
      expect(rows.map((r) => r.status).every((s) => s === 'SUCCESS')).toBe(true);
      expect(new Set(rows.map((r) => r.workflowID)).size).toBe(ran.size);
      expect(rows.every((r) => /^sched-every-second-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(r.workflowID))).toBe(true);

      // 2. Downtime, then a scheduler without backfill: the missed slots stay missed.
      await sleep(2500);
      const c = scheduler(base);
      await c.ready;
      await newSlotAfter(s1.at(-1)!); // a marker, not a fixed sleep: on a loaded machine the first poll may come late
      await stop(c);
      const s2 = seconds([...effects(file).keys()]);
      const gap = s2.filter((s) => s > s1.at(-1)!)[0] - s1.at(-1)!;
      expect(gap).toBeGreaterThanOrEqual(3); // at least two slots skipped

      // 3. Downtime, then a scheduler with automaticBackfill: every slot since the last one fired runs once.
      await sleep(2500);
      const d = scheduler({ ...base, BACKFILL: '1' });
      await d.ready;
      await newSlotAfter(s2.at(-1)!);
      // 4. Paused with wf schedules: no more slots.
      const lines: string[] = [];
      expect(await wf(['schedules', 'pause', 'every-second', '--app', 'sched'], { ...process.env, ...env }, (t) => lines.push(t), (t) => lines.push(t))).toBe(0);
      await sleep(2500); // the scheduler reads the pause at its next poll (every second)
      const atPause = effects(file).size;
      await sleep(2000);
      expect(effects(file).size).toBe(atPause);
      await stop(d);
      const all = effects(file);
      for (const [slot, pids] of all) expect(pids, slot).toHaveLength(1);
      const s3 = seconds([...all.keys()]).filter((s) => s > s2.at(-1)! - 10);
      const last2 = s2.at(-1)!;
      const after = s3.filter((s) => s > last2);
      expect(after.length).toBeGreaterThanOrEqual(3);
      expect(after.at(-1)! - last2).toBe(after.length); // backfilled: no gap after the last slot of step 2
      const listed: string[] = [];
      await wf(['schedules', '--app', 'sched'], { ...process.env, ...env }, (t) => listed.push(t), (t) => listed.push(t));
      expect(listed.join('\n')).toMatch(/every-second.*PAUSED/);
    });
  });
}
