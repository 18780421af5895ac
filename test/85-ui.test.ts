// npm run ui in a real browser: headless Chromium (Debian's chromium, driven by playwright-core)
// against the real server (scripts/ui.ts as a child process) over a database made by a real crash:
// an order workflow (test/fixtures/ui-crash.ts) whose first process dies by SIGABRT inside a step,
// recovered by a second process. Checked as a person sees the page: the workflow listed, one lane
// per execution, the gap where the first process died, replayed steps marked replayed, the step that
// ran again; a workflow id made of markup and control characters shown as text (no element made of
// it); no password anywhere on a page over PostgreSQL; resume and cancel refused without
// --allow-actions and done with it. The timeline's screenshot goes to docs/ui-timeline.png (README).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT, type DatabaseChoice } from '../lib/config.js';
import { printable } from '../lib/printable.js';
import { slotWorkflowID } from '../lib/schedules/cron.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, freshDatabase, runScript, tempDir } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE = `<img src=x onerror="window.pwned=1"><b id="pwned">bold</b>\x1b[31m\u202eevil\n/../x&amp;`;

async function browser(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: this test drives a real headless browser. Install Debian's package (sudo apt-get install -y chromium; ` +
      '.ci/run does it in CI), or point CHROMIUM_PATH at a Chrome or Chromium binary.');
  }
  // The background-networking flags matter: without them Chromium phones home and a closed network refuses it.
  return chromium.launchPersistentContext(tempDir('workbook-chromium-'), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** scripts/ui.ts as a user starts it; resolves with its address once it prints "UI: http://...". */
async function startUi(env: Record<string, string>, args: string[]): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/ui.ts'), '--port', '0', ...args], {
    cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const take = (b: Buffer) => {
      out += b.toString();
      const m = /^UI: (http:\/\/127\.0\.0\.1:\d+\/)/m.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('exit', (code) => reject(new Error(`ui exited (${code}) before it listened:\n${out}`)));
    setTimeout(() => reject(new Error(`ui did not listen within 60 s:\n${out}`)), 60_000).unref();
  });
  return { url, child, output: () => out };
}

async function stopUi(ui: { child: ChildProcess }): Promise<number | null> {
  if (ui.child.exitCode !== null) return ui.child.exitCode;
  const exited = new Promise<number | null>((r) => ui.child.once('exit', (code) => r(code)));
  ui.child.kill('SIGTERM');
  return exited;
}

/** A workflow with a hostile id, name and output, written as the engine writes one. */
async function insertHostile(choice: DatabaseChoice, app: string, status: 'SUCCESS' | 'PENDING' = 'SUCCESS'): Promise<void> {
  await withDatabase(choice, app, 'ui-test', async (db) => {
    const now = Date.now();
    await db.insertWorkflow({ workflowID: HOSTILE, name: `<script>window.pwned=2</script>`, inputs: JSON.stringify([HOSTILE]), executorID: 'test-1-aaaaaa', applicationID: app, applicationVersion: '<i>v1</i>', parentWorkflowID: null, now });
    const fence = { executorID: 'test-1-aaaaaa', attempt: 1 };
    await db.recordOperation({ workflowID: HOSTILE, functionID: 0, functionName: '<svg onload=alert(1)>', output: JSON.stringify('<img src=x onerror="window.pwned=3">'), error: null, childWorkflowID: null, attempts: 1, startedAtEpochMs: now, completedAtEpochMs: now + 5 }, fence);
    if (status === 'SUCCESS') await db.finishWorkflow(HOSTILE, 'SUCCESS', JSON.stringify('<b>done</b>'), null, fence, now + 10);
  });
}

/** expect.poll with room for a loaded machine (its default gives up after 1 s); the page asks the server every second. */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

/** Nothing the page holds came from markup in the data: no injected element ran or exists. */
async function expectNoInjection(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  expect(await page.locator('#pwned, main img, main svg, main script, main b').count()).toBe(0);
}

describe('npm run ui in headless Chromium', () => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await browser();
  });
  afterAll(async () => ctx?.close());

  const kind = DATABASES.includes('sqlite') ? 'sqlite' : 'postgres';
  it(`${kind}: a crashed and recovered workflow: listed, two lanes, the crash gap, replayed steps, the hostile id as text; actions refused (screenshot: docs/ui-timeline.png)`, async () => {
    const { env, choice } = await freshDatabase(kind);
    const base = { ...env, WORKFLOW_ID: 'order-1001', WORKBOOK_SEED: '3', WORKBOOK_P_CHARGE_FAILS: '0.6' };
    const first = await runScript('test/fixtures/ui-crash.ts', { ...base, MODE: 'start', WORKBOOK_P_CRASH_IN_SHIP: '1' }, { timeoutMs: 60_000 });
    expect(first.signal, first.stdout + first.stderr).toBe('SIGABRT');
    expect(first.stderr).toMatch(/FAILING at charge-fails/); // seed 3: charge fails once and is retried
    await insertHostile(choice, 'uidemo');

    const ui = await startUi(env, ['--app', 'uidemo']);
    try {
      // Open while the workflow waits for its recovery: one lane, PENDING, its process gone.
      const page = await ctx.newPage();
      await page.goto(`${ui.url}#/wf/order-1001`);
      await poll(() => page.locator('#summary').textContent()).toMatch(/PENDING.*1 execution .*its process \(pid \d+\) is gone/s);
      expect(await page.locator('.vis-label').count()).toBe(1);
      // The recovery runs while the page stays open: it follows without a reload.
      const second = await runScript('test/fixtures/ui-crash.ts', { ...base, MODE: 'recover' }, { timeoutMs: 60_000 });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      await poll(() => page.locator('#summary').textContent()).toMatch(/SUCCESS.*2 executions · 1 crash gap/s);

      await page.goto(ui.url);
      await poll(() => page.locator('main table').textContent()).toContain('order-1001');
      const row = page.locator('tr', { has: page.locator('a', { hasText: 'order-1001' }) });
      expect(await row.textContent()).toMatch(/SUCCESS.*order-1001.*order.*2$/s); // status, id, name ... executions
      await expectNoInjection(page);

      await page.click('a:text("order-1001")');
      await page.waitForSelector('.vis-item.vis-point.replayed');
      await page.waitForSelector('.vis-item.gap');
      expect(await page.locator('.vis-label').count()).toBe(2); // one lane per execution
      expect(await page.locator('.vis-label').nth(0).textContent()).toContain('run 1');
      expect(await page.locator('.vis-label').nth(1).textContent()).toMatch(/run 2.*executor .*pid \d+/s);
      expect(await page.locator('.vis-item.gap').textContent()).toMatch(/^run 1 died · [\d.]+ (ms|s) until run 2 took over/);
      expect(await page.locator('.vis-item.vis-point.replayed').textContent()).toContain('replayed 3 steps (#0–#2)');
      expect(await page.locator('.vis-item.step.rerun').textContent()).toContain('ship ↻ ran again');
      expect(await page.locator('.vis-item.step.retried').textContent()).toContain('charge ×2');
      const reserve = page.locator('tr.step-row', { has: page.locator('td', { hasText: /^reserve$/ }) });
      expect(await reserve.textContent()).toContain('replayed in run 2');
      expect(await page.locator('tr.step-row.rerun').textContent()).toContain('ran again after a crash');
      mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: join(PROJECT_ROOT, 'docs/ui-timeline.png'), fullPage: false });

      // Read-only: no buttons, and the server refuses a resume or cancel sent anyway.
      expect(await page.locator('.actions button').count()).toBe(0);
      const refused = await page.evaluate(async () => {
        const r = await fetch(`/api/workflows/order-1001/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return { status: r.status, body: await r.text() };
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('--allow-actions');

      // The hostile workflow: its id as text (control characters as visible escapes), nothing injected.
      await page.goto(ui.url);
      await page.locator('a.wfid', { hasText: 'evil' }).click();
      await page.waitForSelector('#timeline .vis-item');
      expect(await page.locator('h1 .wfid').textContent()).toBe(printable(HOSTILE));
      expect(await page.locator('#details').textContent()).toContain('"<img src=x onerror=\\"window.pwned=3\\">"'); // the output as stored (JSON), as text
      await expectNoInjection(page);
    } finally {
      expect(await stopUi(ui)).toBe(0);
    }
  });

  describe.runIf(DATABASES.includes('postgres'))('postgres with a password', () => {
    const TAG = randomBytes(3).toString('hex');
    const ROLE = `wbui_${TAG}`;
    const PASSWORD = `Sq#ueak/y@Ui:${TAG}`;
    const DB = `ui_${TAG}`;
    const admin = () => new URL(inject('pgAdminUrl'));
    const sql = async (text: string) => {
      const c = new pg.Client({ connectionString: admin().toString() });
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    };
    beforeAll(() => sql(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`).then(() => sql(`CREATE DATABASE ${DB} OWNER ${ROLE}`)));
    afterAll(() => sql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).then(() => sql(`DROP ROLE IF EXISTS ${ROLE}`)));

    it('no password on any page, and --allow-actions cancels from the page', async () => {
      const url = `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@${admin().host}/${DB}`;
      const choice: DatabaseChoice = { kind: 'postgres', url };
      await insertHostile(choice, 'uidemo', 'PENDING');
      const slot = new Date(Date.UTC(2026, 0, 31, 12, 0, 0));
      await withDatabase(choice, 'uidemo', 'ui-test', async (db) => {
        await db.enqueueWorkflow({ workflowID: 'queued-1', name: 'evaluate', inputs: '[]', applicationID: 'uidemo', applicationVersion: '1', queueName: 'evals<q>', deduplicationID: null, priority: 0, now: Date.now() });
        await db.putSchedule({ scheduleID: 's1', scheduleName: 'nightly', workflowName: 'evaluate', workflowClassName: null, schedule: '0 12 * * *', status: 'ACTIVE', context: '{}',
          lastFiredAt: slot.toISOString(), automaticBackfill: false, cronTimezone: null, queueName: null, applicationName: 'uidemo' }, 'insert');
        await db.insertWorkflow({ workflowID: 'child-of-hostile', name: 'batch', inputs: '[]', executorID: 'test-1-aaaaaa', applicationID: 'uidemo', applicationVersion: '1', parentWorkflowID: HOSTILE, now: Date.now() });
        await db.insertWorkflow({ workflowID: slotWorkflowID('nightly', slot), name: 'evaluate', inputs: '[]', executorID: 'test-1-aaaaaa', applicationID: 'uidemo', applicationVersion: '1', parentWorkflowID: null, now: slot.getTime() + 1500 });
      });
      const ui = await startUi({ DATABASE_URL: url, WORKBOOK_DB: 'pg' }, ['--allow-actions']);
      try {
        const page = await ctx.newPage();
        const seen: string[] = [];
        page.on('response', async (r) => seen.push(await r.text().catch(() => '')));
        await page.goto(ui.url);
        await poll(() => page.locator('#db').textContent()).toContain(`${ROLE}:***@`);
        await page.goto(`${ui.url}#/queues`);
        await poll(() => page.locator('main table').textContent()).toMatch(/^queue.*evals<q>1/s); // the queue, 1 waiting
        await page.goto(`${ui.url}#/schedules`);
        await poll(() => page.locator('main section').textContent()).toMatch(/nightly.*0 12 \* \* \*.*1500 ms.*PENDING/s); // due, created 1.5 s late
        await page.goto(ui.url);
        // Newest first, the child folded under its parent (created after the queued one), and listed on the parent's page.
        await poll(() => page.locator('tr.child').textContent()).toContain('child-of-hostile');
        expect(await page.locator('main tbody tr').allTextContents()).toEqual([
          expect.stringContaining('queued-1'), expect.stringContaining('(1 children)'), expect.stringContaining('child-of-hostile'), expect.stringContaining('sched-nightly-'),
        ]);
        await page.locator('a.wfid', { hasText: 'evil' }).click();
        await page.waitForSelector('.actions button');
        expect(await page.locator('#details').textContent()).toMatch(/Children.*child-of-hostile/s);
        await expectNoInjection(page);
        for (const text of [await page.content(), ...seen, ui.output()]) {
          for (const piece of [PASSWORD, encodeURIComponent(PASSWORD), 'ueak', `Ui:${TAG}`]) expect(text).not.toContain(piece);
        }
        await page.click('.actions button:text("cancel")');
        await poll(() => page.locator('.actions .said').textContent()).toContain('is CANCELLED');
        await poll(() => page.locator('#summary').textContent()).toContain('CANCELLED');
        expect(await withDatabase(choice, 'uidemo', 'ui-test', async (db) => (await db.getWorkflow(HOSTILE))!.status)).toBe('CANCELLED');
      } finally {
        expect(await stopUi(ui)).toBe(0);
      }
    });
  });
});
