// Errors that help (issue 3, point 7) and promise 9: each names the problem and the fix, none
// prints a password, and nothing already committed is lost.
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  DatabaseConnectionError,
  DatabaseUrlError,
  DBOS,
  NotSerializableError,
  redactUrl,
  WorkflowNotRegisteredError,
} from '../lib/index.js';
import { closedPort, DATABASES, freshDatabase, runScript } from './helpers.js';

afterEach(() => DBOS.shutdown());

async function launchWith(url: string): Promise<Error> {
  DBOS.setConfig({ name: 'errors', database: { kind: 'postgres', url } });
  return DBOS.launch().then(() => new Error('launched, but it should not have'), (e: Error) => e);
}

describe('database location errors', () => {
  it('a malformed DATABASE_URL says what is wrong and what to write', async () => {
    for (const [url, problem] of [
      ['not a url at all', /is not a URL/],
      ['mysql://u:hunter2@localhost/db', /scheme is "mysql", not postgres/],
      ['postgres://u:hunter2@localhost', /names no database/],
    ] as const) {
      const err = await launchWith(url);
      expect(err).toBeInstanceOf(DatabaseUrlError);
      expect(err.message).toMatch(problem);
      expect(err.message).toMatch(/postgres:\/\/user:password@host:5432\/database/);
      expect(err.message).not.toMatch(/hunter2/);
    }
  });

  it('a server that is down: connection refused, is it running, or use SQLite', async () => {
    const err = await launchWith(`postgres://me:s3cret-pw@127.0.0.1:${await closedPort()}/db`);
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect(err.message).toMatch(/connection was refused \(ECONNREFUSED\).*Is the server running.*Unset DATABASE_URL to use SQLite/);
    expect(err.message).toContain('me:***@127.0.0.1');
    expect(err.message).not.toMatch(/s3cret-pw/);
  });

  it.skipIf(!DATABASES.includes('postgres'))('a refused login names the user, never the password', async () => {
    const u = new URL(inject('pgAdminUrl'));
    u.password = 'wrong-pa55word';
    const err = await launchWith(u.toString());
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect(err.message).toMatch(/refused the login of user "postgres".*Check the user and password/);
    expect(err.message).not.toMatch(/wrong-pa55word/);
  });

  it('redactUrl masks the password and keeps the rest', () => {
    expect(redactUrl('postgres://u:p%40ss@h:5433/db?sslmode=disable')).toBe('postgres://u:***@h:5433/db?sslmode=disable');
    expect(redactUrl('postgres://u:pass@h/db')).not.toContain('pass@');
    expect(redactUrl('weird//u:pass@h')).toBe('weird//u:***@h');
  });
});

const before = DBOS.registerStep(async function before() {
  return 'kept';
});
// What SuperJSON (DBOS's format) would silently drop: refused. Everything else it keeps (below).
const bad: Record<string, () => unknown> = {
  function: () => ({ callback: function callback() {} }),
  symbol: () => [1, { tag: Symbol('t') }],
  'function in a Map': () => new Map([['k', () => 1]]),
};
const cyclic = () => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};
const kept: Record<string, () => unknown> = {
  date: () => ({ at: new Date(Date.UTC(2026, 11, 1, 10)) }),
  bigint: () => ({ total: 10n }),
  map: () => new Map<unknown, unknown>([[1, 'one'], ['two', new Set([2])]]),
  'undefined in array': () => [1, undefined, 3],
  cycle: cyclic,
};
let keptRuns = 0;
const keptStep = DBOS.registerStep(async function keptStep(kind: string) {
  keptRuns++;
  return kept[kind]();
});
const storesKeptValue = DBOS.registerWorkflow(async function storesKeptValue(kind: string) {
  const v = await keptStep(kind);
  return { v, isDate: kind === 'date' && (v as { at: unknown }).at instanceof Date };
});
const badStep = DBOS.registerStep(async function badStep(kind: string) {
  return bad[kind]();
});
const storesBadValue = DBOS.registerWorkflow(async function storesBadValue(kind: string) {
  await before();
  return badStep(kind);
});
const plain = DBOS.registerWorkflow(async function plain() {
  return before();
});

for (const kind of DATABASES) {
  describe(`${kind}: values and code that cannot be recorded`, () => {
    it('a step result SuperJSON would drop (a function, a symbol) fails the workflow with the path and the fix; earlier steps stay recorded', async () => {
      DBOS.setConfig({ name: 'errors', database: (await freshDatabase(kind)).choice });
      await DBOS.launch();
      const paths: Record<string, RegExp> = { function: /a function \(callback\) at \$\.callback/, symbol: /a symbol \(Symbol\(t\)\) at \$\[1\]\.tag/, 'function in a Map': /a function .* at \$\.get\(k\)/ };
      for (const [name, path] of Object.entries(paths)) {
        const h = await DBOS.startWorkflow(storesBadValue, { workflowID: `bad-${name}` })(name);
        const err = (await h.getResult().catch((e: Error) => e)) as Error;
        expect(err).toBeInstanceOf(NotSerializableError);
        expect(err.message).toMatch(/the result of step badStep cannot be stored/);
        expect(err.message).toMatch(path);
        expect(err.message).toMatch(/drop functions and symbols/);
        expect((await DBOS.getWorkflowStatus(`bad-${name}`))?.status).toBe('ERROR');
        const steps = await DBOS.listWorkflowSteps(`bad-${name}`);
        expect(steps.map((s) => [s.name, s.output ?? s.error?.name])).toEqual([['before', 'kept'], ['badStep', 'NotSerializableError']]);
      }
    });

    it('a Date, a BigInt, a Map, undefined in an array and a cycle come back as they were, on the first run and on replay', async () => {
      DBOS.setConfig({ name: 'errors', database: (await freshDatabase(kind)).choice });
      await DBOS.launch();
      for (const kind of Object.keys(kept)) {
        const first = await DBOS.startWorkflow(storesKeptValue, { workflowID: `kept-${kind}` })(kind).then((h) => h.getResult());
        expect(first.v).toEqual(kept[kind]());
        // Replay: the recorded step outcome is read back, not run again, and it is the same value.
        await DBOS.appDatabase.query(`UPDATE ${DBOS.appDatabase.schemaPrefix}workflow_status SET status = 'PENDING', executor_id = 'dead' WHERE workflow_uuid = ?`, [`kept-${kind}`]);
        const before = keptRuns;
        const report = await DBOS.recoverPendingWorkflows();
        const again = (await report.recovered[0].getResult()) as typeof first;
        expect(keptRuns).toBe(before);
        expect(again).toEqual(first);
      }
      const date = await DBOS.retrieveWorkflow<{ isDate: boolean }>('kept-date').getResult();
      expect(date.isDate).toBe(true);
    });

    it('a PENDING workflow whose name is no longer registered is reported and left PENDING', async () => {
      DBOS.setConfig({ name: 'errors', database: (await freshDatabase(kind)).choice });
      await DBOS.launch();
      await DBOS.startWorkflow(plain, { workflowID: 'ghost' })().then((h) => h.getResult());
      const t = kind === 'postgres' ? 'dbos.workflow_status' : 'workflow_status';
      await DBOS.appDatabase.query(`UPDATE ${t} SET status = 'PENDING', name = 'renamedAway', executor_id = 'dead' WHERE workflow_uuid = ?`, ['ghost']);
      const report = await DBOS.recoverPendingWorkflows();
      expect(report.unknown).toHaveLength(1);
      const err = report.unknown[0];
      expect(err).toBeInstanceOf(WorkflowNotRegisteredError);
      expect(err.message).toMatch(/Workflow ghost is PENDING under the name "renamedAway", but no workflow of that name is registered/);
      expect(err.message).toMatch(/Register it again under its old name/);
      expect((await DBOS.getWorkflowStatus('ghost'))?.status).toBe('PENDING');
      expect(await DBOS.listWorkflowSteps('ghost')).toHaveLength(1);
    });
  });

  describe(`${kind}: ex1 as a user runs it`, () => {
    it('prints 20, twice in a row', async () => {
      const { env } = await freshDatabase(kind);
      for (let i = 0; i < 2; i++) {
        const r = await runScript('experiments/ex1.ts', env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^RESULT: 20$/m);
        expect(r.stdout).toMatch(/page 0: 10 users inserted\npage 1: 10 users inserted/);
      }
    });
  });
}

describe('bad input as a user meets it', () => {
  it('ex1 with a wrong DATABASE_URL exits 2 with the fix and without the password', async () => {
    const r = await runScript('experiments/ex1.ts', { DATABASE_URL: `postgres://me:pw-do-not-print@127.0.0.1:${await closedPort()}/x` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BAD INPUT: cannot use the database at postgres:\/\/me:\*\*\*@127\.0\.0\.1/);
    expect(r.stdout + r.stderr).not.toMatch(/pw-do-not-print/);
  });
});
