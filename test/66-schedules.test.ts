// Promise 12, schedules, with real scheduler processes (test/fixtures/schedule-worker.ts, a slot
// every second): two schedulers fire every slot and each slot runs once; slots missed while no
// scheduler ran are skipped by default and run once each with automaticBackfill; a schedule paused
// with `wf schedules pause` fires nothing more.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { withDatabase } from '../lib/storage/open.js';
import { wf } from '../scripts/wf.js';
import { DATABASES, freshDatabase, runScript, type RunResult } from './helpers.js';

const WORKER = 'test/fixtures/schedule-worker.ts';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
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
