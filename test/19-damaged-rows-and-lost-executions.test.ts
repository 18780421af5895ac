// Issue 13, findings 5, 6 and 9, on both databases:
//  - damaged rows (bad JSON, an unknown status, a count that is not a number) are named with the
//    workflow id, the column and a fix, left alone, and stop neither launch() nor the other
//    recoveries nor listWorkflows; getResult on one fails clearly instead of waiting forever;
//  - a workflow row deleted by hand takes its steps with it: its id reused runs anew, no replay;
//  - an execution that learns it was fenced or cancelled runs no more step bodies, even when the
//    workflow catches the error; a cancel written by another connection is seen before the next step;
//  - a workflow id with a NUL character or of 10 KB is refused with a typed error, nothing stored;
//  - `npm run bench` with a wrong password: the message and the fix, exit 2, no stack, no password.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { DamagedRowError, DBOS, InvalidWorkflowIDError, DBOSAwaitedWorkflowCancelledError } from '../lib/index.js';
import { state } from '../lib/state.js';
import { DATABASES, freshDatabase, runScript, tempDir } from './helpers.js';

afterEach(() => DBOS.shutdown());

const doubled = DBOS.registerWorkflow(async function doubled(x: number) {
  return x * 2;
});
void doubled;

const bodies: number[] = [];
let gate: Promise<void> = Promise.resolve();
let between: () => Promise<void> = async () => {};
const counted = DBOS.registerStep(async function counted(i: number) {
  bodies.push(i);
  if (i === 1) await gate;
  return i;
});
/** Catches every step error and goes on: the case where an execution that lost the workflow used to run every remaining step. */
const catcher = DBOS.registerWorkflow(async function catcher() {
  const seen: unknown[] = [];
  for (let i = 0; i < 5; i++) {
    if (i === 2) await between();
    try {
      seen.push(await counted(i));
    } catch (e) {
      seen.push((e as Error).name);
    }
  }
  return seen;
});

let counter = 0;
const next = DBOS.registerStep(async function next() {
  return ++counter;
});
const twoNumbers = DBOS.registerWorkflow(async function twoNumbers() {
  return [await next(), await next()];
});

describe.each(DATABASES)('%s', (kind) => {
  const S = () => DBOS.appDatabase.schemaPrefix;
  const insertRow = (id: string, status: string, inputs: string, extra: { output?: string; attempts?: unknown } = {}) =>
    DBOS.appDatabase.query(
      `INSERT INTO ${S()}workflow_status (workflow_uuid, status, name, inputs, output, executor_id, application_id, application_version, recovery_attempts, created_at, updated_at)
       VALUES (?, ?, 'doubled', ?, ?, 'gone-executor', 'damaged', ?, ?, ?, ?)`,
      [id, status, inputs, extra.output ?? null, DBOS.applicationVersion, extra.attempts ?? 1, Date.now(), Date.now()],
    );

  it('damaged rows are named (id, column, fix), left alone, and stop neither launch, nor other recoveries, nor listing', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'damaged', database: choice, recoveryIntervalMs: 0 });
    await DBOS.launch();
    await insertRow('a-bad-json', 'PENDING', '{not json');
    await insertRow('b-unknown-status', 'RUNNING', '[1]');
    await insertRow('c-bad-output', 'SUCCESS', '[1]', { output: '{"half":' });
    await insertRow('d-good', 'PENDING', '[21]');
    if (kind === 'sqlite') await insertRow('e-bad-count', 'PENDING', '[1]', { attempts: 'three' }); // PostgreSQL's BIGINT refuses it
    await DBOS.shutdown();

    await DBOS.launch();
    const report = DBOS.lastRecovery();
    expect(report.recovered.map((h) => h.workflowID)).toEqual(['d-good']);
    expect(await report.recovered[0].getResult()).toBe(42);
    const damaged = report.damaged.map((e) => [e.workflowID, e.column]);
    expect(damaged).toEqual([['a-bad-json', 'inputs'], ...(kind === 'sqlite' ? [['e-bad-count', 'recovery_attempts']] : [])]);
    expect(report.damaged[0].message).toMatch(/Workflow a-bad-json cannot be read: its inputs column is not valid JSON .*left as it is.*npm run wf -- cancel a-bad-json/);
    // Not claimed: no recovery attempt was spent on it.
    expect(await DBOS.getWorkflowStatus('a-bad-json')).toMatchObject({ status: 'PENDING', recoveryAttempts: 1, executorId: 'gone-executor' });
    expect((await DBOS.listWorkflows({})).map((r) => r.workflowID)).toEqual(['a-bad-json', 'b-unknown-status', 'c-bad-output', 'd-good', ...(kind === 'sqlite' ? ['e-bad-count'] : [])]);

    const failure = (id: string) => DBOS.retrieveWorkflow(id).getResult().then(() => undefined, (e: Error) => e);
    for (const [id, column, says] of [
      ['a-bad-json', 'inputs', /is not valid JSON/],
      ['b-unknown-status', 'status', /holds "RUNNING", which is not a status .*UPDATE workflow_status SET status = 'CANCELLED'/],
      ['c-bad-output', 'output', /is not valid JSON/],
      ...(kind === 'sqlite' ? [['e-bad-count', 'recovery_attempts', /not a whole number/] as const] : []),
    ] as const) {
      const err = await failure(id);
      expect(err, id).toBeInstanceOf(DamagedRowError);
      expect((err as DamagedRowError).column).toBe(column);
      expect(err!.message).toMatch(says);
    }
  });

  it('a workflow row deleted by hand takes its steps with it: the id reused runs anew, nothing old is replayed', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'reuse', database: choice });
    await DBOS.launch();
    counter = 0;
    expect(await (await DBOS.startWorkflow(twoNumbers, { workflowID: 'reused' })()).getResult()).toEqual([1, 2]);
    await DBOS.appDatabase.query(`DELETE FROM ${S()}workflow_status WHERE workflow_uuid = ?`, ['reused']);
    expect(await (await DBOS.startWorkflow(twoNumbers, { workflowID: 'reused' })()).getResult()).toEqual([3, 4]);
    expect((await DBOS.listWorkflowSteps('reused')).map((s) => s.output)).toEqual([3, 4]);
    expect(await DBOS.getWorkflowStatus('reused')).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1 });
  });

  it('fenced (another execution took the workflow): no more step bodies run, even when the workflow catches the error', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'fenced', database: choice });
    await DBOS.launch();
    bodies.length = 0;
    let release!: () => void;
    gate = new Promise((r) => (release = r));
    between = async () => {};
    await DBOS.startWorkflow(catcher, { workflowID: 'fenced-1' })();
    while (!bodies.includes(1)) await new Promise((r) => setTimeout(r, 10));
    // Another process claims it meanwhile (what recovery's compare-and-set does).
    await DBOS.appDatabase.query(`UPDATE ${S()}workflow_status SET recovery_attempts = recovery_attempts + 1, executor_id = 'other' WHERE workflow_uuid = ?`, ['fenced-1']);
    release();
    expect(await state.running.get('fenced-1')).toEqual({ kind: 'elsewhere' });
    expect(bodies).toEqual([0, 1]); // steps 2, 3, 4 never ran here
    expect((await DBOS.listWorkflowSteps('fenced-1')).map((s) => s.functionID)).toEqual([0]);
    expect(await DBOS.getWorkflowStatus('fenced-1')).toMatchObject({ status: 'PENDING', executorId: 'other', recoveryAttempts: 2 });
  });

  it('a cancel written by another connection between two steps is seen before the next step starts', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'cancelled', database: choice });
    await DBOS.launch();
    bodies.length = 0;
    gate = Promise.resolve();
    // As `npm run wf -- cancel` does from another process: the row alone changes, nothing here is told.
    between = async () => void (await DBOS.appDatabase.query(`UPDATE ${S()}workflow_status SET status = 'CANCELLED' WHERE workflow_uuid = ?`, ['cancel-1']));
    const h = await DBOS.startWorkflow(catcher, { workflowID: 'cancel-1' })();
    await expect(h.getResult()).rejects.toBeInstanceOf(DBOSAwaitedWorkflowCancelledError); // DBOS's error to whoever awaits a cancelled workflow
    expect(bodies).toEqual([0, 1]); // step 2 was about to start: it did not, nor did 3 and 4
    // Step 1's outcome was still pending (promise 15: written as step 2 begins); the cancel refuses
    // that write, so only step 0 is recorded, and a resume would run step 1 again (promise 3).
    expect((await DBOS.listWorkflowSteps('cancel-1')).map((s) => s.functionID)).toEqual([0]);
    expect((await DBOS.getWorkflowStatus('cancel-1'))?.status).toBe('CANCELLED');
  });

  it('a workflow id with a NUL character or of 10 KB is refused with a typed error; nothing is stored', async () => {
    const { choice } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'ids', database: choice });
    await DBOS.launch();
    for (const [id, says] of [['nul\u0000id', /contains a NUL character/], ['x'.repeat(10_240), /is 10240 bytes long/]] as const) {
      const err = await DBOS.startWorkflow(doubled, { workflowID: id })(1).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(InvalidWorkflowIDError);
      expect(err!.message).toMatch(says);
      expect(err!.message).toMatch(/at most 1024 bytes/);
    }
    expect(await DBOS.listWorkflows({})).toEqual([]);
  });
});

it.skipIf(!DATABASES.includes('postgres'))('npm run bench with a wrong password in DATABASE_URL: exit 2, the login named, no stack trace, no password', async () => {
  const u = new URL(inject('pgAdminUrl'));
  u.password = 'Wr0ng-pa55';
  const r = await runScript('bench/run.ts', { DATABASE_URL: u.toString() }, { args: ['--quick-test', '--db', 'postgres', '--out', tempDir()], timeoutMs: 60_000 });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/BAD INPUT: cannot use the database at .*refused the login of user "postgres".*Check the user and password/);
  expect(r.stderr + r.stdout).not.toMatch(/Wr0ng-pa55|\n\s+at /);
});
