// The parity band: each lesson runs on the workbook's engine and on real DBOS Transact
// (@dbos-inc/dbos-sdk 5.3.0, WORKBOOK_ENGINE=dbos) against the same embedded PostgreSQL, with the
// same seeds, and their RESULT lines must agree except where the README's "Where the workbook
// differs from DBOS Transact" table says otherwise (here: the random workflow id, and ex5's
// timings). Then direct checks (test/fixtures/parity.ts): child ids and checkpoints of ex5's shape,
// a Date through a step, stepStatus, the retries error, listWorkflows with an ISO startTime, and
// the parked workflow's error to whoever awaits it. PostgreSQL only: DBOS TS has no SQLite.
import { describe, expect, it } from 'vitest';
import { freshDatabase, marked, runScript, tempDir, type RunResult } from './helpers.js';

const ENGINES = ['workbook', 'dbos'] as const;
type Engine = (typeof ENGINES)[number];
const onPg = process.env.WORKBOOK_TEST_DB !== 'sqlite';
const FAST = { WORKBOOK_WAIT_MS: '100', NODE_NO_WARNINGS: '1' };

/** Runs a lesson (or fixture) until it does not crash, at most `max` times; every run's end, and the last run. */
async function untilDone(file: string, env: Record<string, string>, max = 8): Promise<{ ends: string[]; last: RunResult }> {
  const ends: string[] = [];
  for (;;) {
    const last = await runScript(file, env, { timeoutMs: 120_000 });
    ends.push(last.signal ?? `exit ${last.code}`);
    if (last.signal !== 'SIGABRT' || ends.length >= max) return { ends, last };
  }
}

/** The RESULT line without what differs by nature: the random workflow id (and ex5's milliseconds). */
function comparable(r: RunResult): unknown {
  const result = marked<unknown>(r, 'RESULT');
  if (typeof result !== 'object' || result === null) return result;
  const { workflowID: _id, ms: _ms, ...rest } = result as Record<string, unknown>;
  return rest;
}

/** Both engines on one fresh database each lesson: the workbook's tables in it, DBOS's in `<it>_dbos_<lesson>`. */
async function bothEngines(lesson: string, extra: Record<string, string> = {}) {
  const { env } = await freshDatabase('postgres');
  const runs = await Promise.all(ENGINES.map((engine) => untilDone(`experiments/${lesson}.ts`, { ...env, ...FAST, ...extra, WORKBOOK_ENGINE: engine })));
  return { env, ...Object.fromEntries(ENGINES.map((e, i) => [e, runs[i]])) } as { env: Record<string, string> } & Record<Engine, { ends: string[]; last: RunResult }>;
}

const show = (r: RunResult) => `${r.stdout}\n${r.stderr}`;

describe.runIf(onPg)('postgres: every lesson on the workbook engine and on DBOS Transact', () => {
  for (const lesson of ['ex1', 'ex2', 'ex3', 'ex4', 'ex6']) {
    it(`${lesson}: the same runs and the same RESULT`, async () => {
      const { workbook, dbos } = await bothEngines(lesson);
      expect(dbos.ends, show(dbos.last)).toEqual(workbook.ends); // the same crashes at the same points (seeded)
      expect(comparable(dbos.last), show(dbos.last)).toEqual(comparable(workbook.last));
    });
  }

  it('ex5: 1000 users and 122 checkpoints on both (DBOS records each awaited child result)', async () => {
    const { workbook, dbos } = await bothEngines('ex5');
    for (const r of [workbook.last, dbos.last]) expect(comparable(r), show(r)).toEqual({ users: 1000, database: 'postgres', checkpoints: 122 });
  });

  it('ex3: with every run crashing, both park the workflow after the same runs, and its awaiter gets DBOS\'s error (code 30)', async () => {
    const { env, workbook, dbos } = await bothEngines('ex3', { WORKBOOK_P_CRASH_AFTER_PAGE_1: '1' });
    expect(workbook.ends).toEqual(['SIGABRT', 'SIGABRT', 'SIGABRT', 'SIGABRT', 'exit 1']);
    expect(dbos.ends).toEqual(workbook.ends);
    for (const r of [workbook.last, dbos.last]) expect(show(r)).toMatch(/It ran 4 times \(the first run and 3 recoveries\)/);
    // Whoever awaits the parked workflow (here: another process, by id) gets the same error on both.
    const awaited = await Promise.all(ENGINES.map(async (engine, i) => {
      const id = /^DEAD_LETTER: (.*)$/m.exec([workbook, dbos][i].last.stdout)![1];
      const r = await runScript('test/fixtures/parity.ts', { ...env, ...FAST, WORKBOOK_ENGINE: engine, PARITY_APP: 'ex3', AWAIT: id }, { timeoutMs: 60_000 });
      const seen = JSON.parse(/^CHECK awaited (.*)$/m.exec(r.stdout)?.[1] ?? 'null') as { message: string };
      expect(seen, show(r)).not.toBeNull();
      return { ...seen, message: seen.message.replace(id, '<id>') };
    }));
    expect(awaited[0]).toMatchObject({ dbosErrorCode: 30, message: 'Awaited <id> exceeded its maximum recovery attempts' });
    expect({ ...awaited[1], name: undefined }).toEqual({ ...awaited[0], name: undefined });
  }, 300_000);
});

describe.runIf(onPg)('postgres: direct checks on both engines (test/fixtures/parity.ts)', () => {
  it('a Date through a step, child ids -1 -3 -5, checkpoints, stepStatus, the retries error, listWorkflows with an ISO startTime, SuperJSON text', async () => {
    const { env } = await freshDatabase('postgres');
    const checks = await Promise.all(ENGINES.map(async (engine) => {
      const r = await runScript('test/fixtures/parity.ts', { ...env, ...FAST, WORKBOOK_ENGINE: engine }, { timeoutMs: 120_000 });
      expect(r.code, show(r)).toBe(0);
      const line = (name: string) => JSON.parse(r.stdout.split('\n').find((l) => l.startsWith(`CHECK ${name} `))!.slice(`CHECK ${name} `.length));
      return Object.fromEntries(['values', 'steps', 'checkpoints', 'retries-error', 'listed', 'stored', 'executor'].map((n) => [n, line(n)]));
    }));
    const [workbook, dbos] = checks;
    // A kept difference: one executor id per process here (host, pid, random); "local" for every DBOS process.
    expect(workbook.executor).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
    expect(dbos.executor).toBe('local');
    for (const c of checks) delete c.executor;
    // A kept difference: DBOS's errors keep name "Error"; the workbook's name their class. Match on dbosErrorCode.
    expect([workbook['retries-error'].name, dbos['retries-error'].name]).toEqual(['DBOSMaxStepRetriesError', 'Error']);
    for (const c of checks) delete c['retries-error'].name;
    expect(workbook).toEqual(dbos);
    expect(dbos.values).toMatchObject({ isDate: true, at: '2026-12-01T10:00:00.000Z', bigint: 'bigint', set: true, out: [10, 20, 30], ids: ['-1', '-3', '-5'] });
    expect(dbos.values.plain).toEqual({ stepID: 7 }); // no retries: the step id alone
    expect(dbos.values.retried).toEqual({ stepID: 8, currentAttempt: 1, maxAttempts: 2 });
    expect(dbos.steps.map((s: unknown[]) => s[1])).toEqual(['dateStep', 'child', 'DBOS.getResult', 'child', 'DBOS.getResult', 'child', 'DBOS.getResult', 'plainStep', 'retriedStep']);
    expect(dbos.checkpoints).toBe(9); // all in the parent: the children have no steps
    expect(dbos['retries-error']).toEqual({ dbosErrorCode: 23, message: 'Step failingStep has exceeded its maximum of 2 retries. Previous errors: Error 1: failure 1. Error 2: failure 2' });
    expect(dbos.listed).toEqual({ count: 1, workflowName: 'valuesWorkflow', hasExecutorId: true, input: [], output: [10, 20, 30] });
    expect(dbos.stored).toEqual({ inputs: '{"json":[],"__dbos_serializer":"superjson"}', serialization: 'js_superjson' });
  });
});

describe('the engine switch', () => {
  it('DBOS Transact has no SQLite: WORKBOOK_ENGINE=dbos on SQLite is bad input (exit 2) that names the fix; a bad engine name too', async () => {
    const dir = tempDir();
    const r = await runScript('experiments/ex1.ts', { WORKBOOK_DB: 'sqlite', WORKBOOK_DATA_DIR: dir, DATABASE_URL: '', WORKBOOK_ENGINE: 'dbos' });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/BAD INPUT: DBOS Transact has no SQLite: run the lesson on PostgreSQL with --pg \(or WORKBOOK_DB=pg\), or set DATABASE_URL/);
    const bad = await runScript('experiments/ex1.ts', { WORKBOOK_DB: 'sqlite', WORKBOOK_DATA_DIR: dir }, { args: ['--engine', 'temporal'] });
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toMatch(/--engine temporal is not an engine: use dbos \(DBOS Transact, on PostgreSQL\) or workbook \(the default\)/);
  });
});
