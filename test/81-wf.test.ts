// `npm run wf -- list|get|steps|resume|cancel` on a database that holds a finished workflow, one
// that needed retries, one that failed, one recovered after a real crash (process.abort() through
// the harness child), and one left PENDING by a crash. Most cases call wf() in this process (fast);
// each database also gets the real command as a child process, its table and its exit code 2.
import { beforeAll, describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { runChild, type ChildJob } from '../lib/harness/index.js';
import { renderTimeline } from '../lib/harness/timeline.js';
import type { OperationRow, WorkflowRow } from '../lib/storage/types.js';
import { withDatabase } from '../lib/storage/open.js';
import { wf as wfCommand } from '../scripts/wf.js';
import { DATABASES, freshDatabase, runScript, tempDir } from './helpers.js';

const APP = 'wftest';
let failuresLeft = 0;
const hello = DBOS.registerStep(async function hello(name: string) {
  return `hello ${name}`;
});
const flaky = DBOS.registerStep(async function flaky() {
  if (failuresLeft-- > 0) throw new Error(`flaky failure ${DBOS.stepStatus!.currentAttempt}`);
  return 'finally';
}, { retriesAllowed: true, maxAttempts: 3, intervalSeconds: 0 });
const greet = DBOS.registerWorkflow(async function greet(name: string) {
  return [await hello(name), await flaky()];
});
/** A parent of three child workflows (as ex5's main workflow and its batches). */
const family = DBOS.registerWorkflow(async function family() {
  const out: string[] = [];
  for (const name of ['x', 'y', 'z']) out.push(...(await (await DBOS.startWorkflow(greet)(name)).getResult()));
  return out;
});
/** What an application (or anyone who can write the tables) may put in a row: escape sequences and newlines. */
const EVIL_ID = 'evil\x1b[2J\x1b]0;owned\x07\nstatus       CANCELLED';

for (const kind of DATABASES) {
  describe(`${kind}: npm run wf`, () => {
    let env: Record<string, string>;
    const cli = (...args: string[]) => runScript('scripts/wf.ts', env, { args: [...args, '--app', APP] });
    const wf = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await wfCommand([...args, '--app', APP], { ...process.env, ...env }, (t) => out.push(t), (t) => err.push(t));
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    };
    const json = async (...args: string[]) => {
      const r = await wf(...args, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    /** The order example in a harness child: crash after step 0 is recorded, then optionally recover. */
    const order = (workflowID: string, mode: ChildJob['mode'], crash = true) => runChild({
      mode, modulePath: 'examples/order/fixed.ts', exportName: 'order', argsJson: JSON.stringify([workflowID, 'sku', 1, 100, 'a@b.c']),
      app: APP, workflowID, check: '', tables: [], env, timeoutMs: 60_000, crash: crash ? { workflowID, functionID: 0, when: 'after' } : undefined,
    });

    beforeAll(async () => {
      const fresh = await freshDatabase(kind);
      env = fresh.env;
      DBOS.setConfig({ name: APP, database: fresh.choice });
      await DBOS.launch();
      failuresLeft = 0;
      await DBOS.startWorkflow(greet, { workflowID: 'ok-1' })('ada').then((h) => h.getResult());
      failuresLeft = 2;
      await DBOS.startWorkflow(greet, { workflowID: 'retried' })('bob').then((h) => h.getResult());
      failuresLeft = 3;
      await DBOS.startWorkflow(greet, { workflowID: 'doomed' })('cy').then((h) => h.getResult()).catch(() => undefined);
      failuresLeft = 0;
      await DBOS.startWorkflow(family, { workflowID: 'family' })().then((h) => h.getResult());
      await DBOS.shutdown();
      await withDatabase(fresh.choice, APP, 'test-evil', (db) => db.insertWorkflow({
        workflowID: EVIL_ID, name: 'name\x1b[31m\u009b2J', inputs: '["\\u001b]0;title\\u0007", "\\u202egnp.exe"]', executorID: 'nobody',
        applicationID: APP, applicationVersion: '1', parentWorkflowID: null, now: Date.now() - 86_400_000,
      }));
      expect((await order('recovered', 'run')).signal).toBe('SIGABRT');
      expect((await order('recovered', 'recover', false)).code).toBe(0);
      expect((await order('crashed', 'run')).signal).toBe('SIGABRT');
    });

    it('list: every workflow, newest first, as a table; filters by status, name, time; --limit', async () => {
      const all = (await json('list')).filter((w: WorkflowRow) => w.workflowID !== EVIL_ID);
      expect(all.map((w: WorkflowRow) => w.workflowID).sort()).toEqual(['crashed', 'doomed', 'family', 'ok-1', 'recovered', 'retried']);
      const created = all.map((w: WorkflowRow) => w.createdAt);
      expect(created).toEqual([...created].sort((a, b) => b - a));
      const table = await cli('list'); // the real command, once
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/workflow id .*name .*status .*executions/);
      expect(table.stdout).toMatch(/│ recovered +│ order +│ SUCCESS +│ [0-9a-f]{12}\.\.\. +│ 2 /); // the version: its code's hash, shortened
      expect(table.stdout).toMatch(/│ crashed +│ order +│ PENDING +│ [0-9a-f]{12}\.\.\. +│ 1 /);
      const ids = async (...f: string[]) => (await json('list', ...f)).map((w: WorkflowRow) => w.workflowID).filter((id: string) => id !== EVIL_ID).sort();
      expect(await ids('--status', 'error')).toEqual(['doomed']);
      expect(await ids('--status', 'PENDING,CANCELLED')).toEqual(['crashed']);
      expect(await ids('--name', 'order')).toEqual(['crashed', 'recovered']);
      expect(await ids('--since', '1h')).toHaveLength(6);
      expect(await ids('--since', '2999-01-01')).toEqual([]);
      expect(await ids('--limit', '2')).toHaveLength(2);
      expect((await wf('list', '--since', '2999-01-01')).stdout).toMatch(/no workflows match/);
    });

    it('list: top-level workflows fill --limit, their children only with --children', async () => {
      // family's three children are the newest rows: without the filter they would fill --limit 3 and hide it
      const top = await wf('list', '--limit', '3');
      expect(top.stdout).toMatch(/│ family +│ family +│ SUCCESS/);
      expect(top.stdout).not.toMatch(/family-\d/);
      expect(top.stdout).toMatch(/\(3 child workflows not shown: --children lists them too\)/);
      const all = (await json('list', '--children')).map((w: WorkflowRow) => w.workflowID);
      expect(all.filter((id: string) => id.startsWith('family-'))).toHaveLength(3);
      expect(all).toContain('family');
    });

    it('prints nothing from the database raw: escape sequences and newlines are shown escaped', async () => {
      const outputs = [await wf('list'), await wf('list', '--json'), await wf('get', EVIL_ID), await wf('get', EVIL_ID, '--json'),
        await wf('steps', EVIL_ID), await wf('cancel', EVIL_ID), await wf('resume', EVIL_ID), await cli('get', EVIL_ID)];
      for (const r of outputs) {
        expect(r.code, r.stderr).toBe(0);
        const text = r.stdout + r.stderr;
        expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/); // no control character but the lines' own \n
        expect(text).not.toMatch(/^status +CANCELLED/m); // the id's newline did not forge a line
      }
      const get = outputs[2].stdout;
      expect(get).toContain('workflow     evil\\x1b[2J\\x1b]0;owned\\x07\\nstatus       CANCELLED');
      expect(get).toContain('name         name\\x1b[31m\\x9b2J');
      expect(JSON.parse(outputs[3].stdout).inputs).toEqual(['\u001b]0;title\u0007', '\u202egnp.exe']); // --json keeps the values, escaped as JSON
      expect(outputs[5].stdout).toMatch(/npm run wf -- resume 'evil\\x1b.*' --app wftest runs it again/);
    });

    it('get: status, inputs, output or error with every attempt, executions, times', async () => {
      const ok = await wf('get', 'ok-1');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^status +SUCCESS$/m);
      expect(ok.stdout).toMatch(/^inputs +\["ada"\]$/m);
      expect(ok.stdout).toMatch(/^output +\["hello ada","finally"\]$/m);
      expect(ok.stdout).toMatch(/^executions +1 \(recovery_attempts: the first run; counted since it was created or last resumed, a resume starts it again\)$/m);
      expect(ok.stdout).toMatch(/^steps +2 recorded \(npm run wf -- steps ok-1 --app wftest\)$/m); // a command that works as printed
      const doomed = await wf('get', 'doomed');
      expect(doomed.stdout).toMatch(/^status +ERROR$/m);
      expect(doomed.stdout).toMatch(/^error +DBOSMaxStepRetriesError: Step flaky has exceeded its maximum of 3 retries\.$/m);
      expect(doomed.stdout).toMatch(/attempt 3: Error: flaky failure 3/);
      expect((await json('get', 'recovered')).recoveryAttempts).toBe(2);
    });

    it('steps: each function id with its run, outcome and attempts; the timeline shows the crash and the recovery', async () => {
      const retried = await wf('steps', 'retried');
      expect(retried.stdout).toMatch(/│ 1 +│ flaky +│ 1 +│ ok: "finally" +│ 3 +│/);
      expect(retried.stdout).toMatch(/succeeded after retries .*: 1 \(flaky\) x3/);
      const doomed = await wf('steps', 'doomed');
      expect(doomed.stdout).toMatch(/│ 1 +│ flaky +│ 1 +│ error: DBOSMaxStepRetriesError/);
      expect(doomed.stdout).toMatch(/step 1 \(flaky\) failed after 3 attempts:\n +attempt 1: Error: flaky failure 1\n +attempt 2: Error: flaky failure 2\n +attempt 3: Error: flaky failure 3/);
      const rec = await wf('steps', 'recovered');
      expect(rec.stdout).toMatch(/timeline: executed 2 times \(the first run and 1 recovery\)/);
      expect(rec.stdout).toMatch(/\n +1 +0 reserveStock +[·█]+ .*\n +---- run 1 stopped after its last record .* run 2 takes over .*\n +2 +1 chargeCard .*\n +2 +2 sendEmail /);
      expect(rec.stdout).toMatch(/end: SUCCESS at \+/);
      const steps = await json('steps', 'recovered');
      expect(steps.map((s: OperationRow) => [s.functionID, s.functionName, s.executionAttempt])).toEqual([[0, 'reserveStock', 1], [1, 'chargeCard', 2], [2, 'sendEmail', 2]]);
    });

    it('cancel, then resume: the next start of the application finishes the workflow', async () => {
      const c = await wf('cancel', 'crashed');
      expect(c.code).toBe(0);
      expect(c.stdout).toMatch(/crashed is CANCELLED/);
      expect((await json('get', 'crashed')).status).toBe('CANCELLED');
      expect((await wf('cancel', 'crashed')).stdout).toMatch(/already CANCELLED/);
      const r = await wf('resume', 'crashed');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/crashed is PENDING again \(was CANCELLED\), its recovery count reset to 0/);
      expect(await json('get', 'crashed')).toMatchObject({ status: 'PENDING', recoveryAttempts: 0 });
      expect((await wf('resume', 'crashed')).stdout).toMatch(/already PENDING/);
      expect((await order('crashed', 'recover', false)).code).toBe(0);
      expect(await json('get', 'crashed')).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
    });

    it('bad input exits 2 and says the fix: unknown command, unknown or missing id, finished workflow, bad options', async () => {
      const cases: [string[], RegExp][] = [
        [['lst'], /"lst" is not a wf command: use list, get, steps, resume, cancel/],
        [[], /give a command/],
        [['get', 'nope'], /no workflow with id nope .*npm run wf -- list shows the ids/],
        [['steps', 'nope'], /no workflow with id nope/],
        [['resume', 'nope'], /no workflow with id nope/],
        [['cancel', 'nope'], /no workflow with id nope/],
        [['get'], /wf get needs a workflow id/],
        [['cancel', 'ok-1'], /ok-1 has finished \(SUCCESS\): there is nothing to cancel/],
        [['resume', 'doomed'], /doomed has finished \(ERROR\): resume runs a CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED/],
        [['list', '--status', 'DONE'], /--status DONE is not a status/],
        [['list', '--since', 'yesterday'], /--since yesterday is not a time/],
        [['list', '--bogus'], /Unknown option '--bogus'/],
      ];
      // The real command: the exit code and stderr, for an unknown command and an unknown id.
      for (const [args, message] of cases.slice(0, 3)) {
        const r = await cli(...args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      for (const [args, message] of cases) {
        const r = await wf(...args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(/^BAD INPUT: /);
        expect(r.stderr).toMatch(message);
      }
    });
  });
}

describe('sqlite: npm run wf without a database to open', () => {
  it('says what is needed when neither --app nor WORKBOOK_SQLITE_FILE is given, or the file is missing', async () => {
    const base = { WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: undefined, DATABASE_URL: undefined, WORKBOOK_DATA_DIR: tempDir() };
    const none = await runScript('scripts/wf.ts', base, { args: ['list'] });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/wf needs to know which database to open: pass --app NAME for data\/NAME\.db/);
    const missing = await runScript('scripts/wf.ts', base, { args: ['list', '--app', 'ex6'] });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/there is no database at .*ex6\.db: run the application first \(e\.g\. npx tsx experiments\/ex6\.ts\)/);
  });
});

describe('the timeline', () => {
  const wfRow = (over: Partial<WorkflowRow>): WorkflowRow => ({
    workflowID: 'w', status: 'SUCCESS', name: 'n', inputs: null, output: null, error: null, executorID: null, applicationID: 'a',
    applicationVersion: '1', recoveryAttempts: 3, parentWorkflowID: null, createdAt: 1000, updatedAt: 5000, ...over,
  });
  const op = (functionID: number, executionAttempt: number | null, start: number, end: number, attempts = 1): OperationRow => ({
    workflowID: 'w', functionID, functionName: `s${functionID}`, output: '1', error: null, childWorkflowID: null, attempts, executionAttempt,
    startedAtEpochMs: start, completedAtEpochMs: end,
  });

  it('places each step on the time axis and names the runs that recorded nothing', () => {
    const lines = renderTimeline(wfRow({}), [op(0, 1, 1000, 1100), op(1, 3, 4000, 5000, 2)], 10);
    expect(lines).toEqual([
      'timeline: executed 3 times (the first run and 2 recoveries); each bar is one step on the time axis',
      '  run  #  step  +0  4.00 s',
      '  1     0 s0    █·········  100 ms',
      '  ---- run 1 stopped after its last record at +100 ms (a crash, a stop or a cancel); run 2 recorded no step; run 3 takes over at +3.00 s ----',
      '  3     1 s1    ·······███  1.00 s, 2 attempts',
      '  end: SUCCESS at +4.00 s',
    ]);
  });

  it('says when the last runs recorded no step of their own, and when the workflow is still running', () => {
    const lines = renderTimeline(wfRow({ status: 'PENDING', recoveryAttempts: 2, updatedAt: 2000 }), [op(0, 1, 1000, 2000)], 10);
    expect(lines.at(-2)).toMatch(/then run 2: no step of its own recorded/);
    expect(lines.at(-1)).toBe('  still PENDING (last change at +1.00 s)');
  });
});
