// Promise 9 end to end: real commands, run as a user runs them, against a real PostgreSQL login
// with a password, never print that password: not in the database's description, the debug log,
// the torture's banner and JSON, `wf get nope` (the path found printing it), `wf list --json`,
// `wf get --json`, `wf steps`, nor in errors. The password holds # / @ : so that a redaction
// which stops at the first of them leaks the rest. Also the embedded server's own URL.
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postgresTarget } from '../bench/databases.js';
import { databasePlan } from '../lib/harness/databases.js';
import { withDatabase } from '../lib/storage/open.js';
import { DATABASES, runScript, tempDir, type RunResult } from './helpers.js';

const TAG = randomBytes(3).toString('hex');
const ROLE = `wbsecret_${TAG}`;
/** "ueak" appears nowhere else in the project's output: a piece of the password that leaked. */
const PASSWORD = `Sq#ueak/y@Pw:${TAG}`;
const DB = `secrets_${TAG}`;

/** Every way the password could show: as given, percent-encoded, and pieces between its special characters. */
function expectNoPassword(text: string, password = PASSWORD): void {
  for (const s of [password, encodeURIComponent(password), 'ueak', `Pw:${TAG}`, `Pw%3A${TAG}`]) expect(text).not.toContain(s);
}
const all = (r: RunResult) => r.stdout + r.stderr;

describe.runIf(DATABASES.includes('postgres'))('postgres: no command prints a password', () => {
  let admin: URL;
  let userUrl: string;
  const url = (password: string, db = DB) => `postgres://${ROLE}:${encodeURIComponent(password)}@${admin.host}/${db}`;

  beforeAll(async () => {
    admin = new URL(inject('pgAdminUrl'));
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(`CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
      await c.query(`CREATE DATABASE ${DB} OWNER ${ROLE}`);
    } finally {
      await c.end();
    }
    userUrl = url(PASSWORD);
  });

  afterAll(async () => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
    } finally {
      await c.end();
    }
  });

  it('the description of the opened database, the harness and the bench descriptions', async () => {
    const description = await withDatabase({ kind: 'postgres', url: userUrl }, 'secrets', 'secrets-test', async (db) => db.description);
    expect(description).toContain(`postgres://${ROLE}:***@${admin.host}/${DB}`);
    expectNoPassword(description);
    const plan = await databasePlan('pg', { DATABASE_URL: userUrl });
    expect(plan.where()).toContain(`${ROLE}:***@`);
    expectNoPassword(plan.where());
    const bench = postgresTarget(userUrl, tempDir()).description;
    expect(bench).toContain(`${ROLE}:***@`);
    expectNoPassword(bench);
  });

  it('a lesson with the debug log, then wf get, get --json, list --json, steps, and get nope', async () => {
    const env = { DATABASE_URL: userUrl, WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: tempDir() };
    const lesson = await runScript('experiments/ex1.ts', { ...env, WORKBOOK_LOG: 'debug' }, { timeoutMs: 60_000 });
    expect(lesson.code, all(lesson)).toBe(0);
    // The debug log names the database (so this checks the log, not an empty stderr).
    expect(lesson.stderr).toMatch(new RegExp(`\\[debug\\] engine: PostgreSQL postgres://${ROLE}:\\*\\*\\*@`));
    expectNoPassword(all(lesson));
    const id = /^workflow (\S+) started/m.exec(lesson.stdout)![1];

    const runs = [
      await runScript('scripts/wf.ts', env, { args: ['get', id, '--app', 'ex1'] }),
      await runScript('scripts/wf.ts', env, { args: ['get', id, '--app', 'ex1', '--json'] }),
      await runScript('scripts/wf.ts', env, { args: ['list', '--app', 'ex1', '--json'] }),
      await runScript('scripts/wf.ts', env, { args: ['steps', id, '--app', 'ex1'] }),
    ];
    for (const r of runs) {
      expect(r.code, all(r)).toBe(0);
      expect(r.stdout).toContain(id);
      expectNoPassword(all(r));
    }
    const nope = await runScript('scripts/wf.ts', env, { args: ['get', 'nope'] });
    expect(nope.code).toBe(2);
    expect(nope.stderr).toContain(`no workflow with id nope in PostgreSQL postgres://${ROLE}:***@${admin.host}/${DB}`);
    expectNoPassword(all(nope));
  });

  it('?password= in the query works and is masked; libpq key=value and an unencoded URL are refused, masked', async () => {
    const query = `postgres://${ROLE}@${admin.host}/${DB}?password=${encodeURIComponent(PASSWORD)}`;
    const env = { WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: tempDir() };
    const viaQuery = await runScript('scripts/wf.ts', { ...env, DATABASE_URL: query, WORKBOOK_LOG: 'debug' }, { args: ['get', 'nope'] });
    expect(viaQuery.stderr).toContain(`no workflow with id nope in PostgreSQL postgres://${ROLE}@${admin.host}/${DB}?password=***`);
    expectNoPassword(all(viaQuery));

    const keyValue = `host=${admin.hostname} port=${admin.port} user=${ROLE} password='${PASSWORD}' dbname=${DB}`;
    const unencoded = `postgres://${ROLE}:${PASSWORD}@${admin.host}/${DB}`;
    for (const given of [keyValue, unencoded]) {
      const r = await runScript('scripts/wf.ts', { ...env, DATABASE_URL: given }, { args: ['list'] });
      expect(r.code, all(r)).toBe(2);
      expect(r.stderr).toMatch(/BAD INPUT: (DATABASE_URL .* is not usable|cannot use the database)/);
      expectNoPassword(all(r));
    }
  });

  it('a wrong password: the error says so and prints neither password', async () => {
    const wrong = `${PASSWORD}Wrong`;
    const r = await runScript('experiments/ex1.ts', { DATABASE_URL: url(wrong), WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: tempDir(), WORKBOOK_LOG: 'debug' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`password authentication failed for user "${ROLE}"`);
    expectNoPassword(all(r), wrong);
  });

  it("the torture's banner, table and TORTURE json", async () => {
    const r = await runScript('scripts/torture.ts', { TORTURE_PG_URL: userUrl, WORKBOOK_LOG: 'debug' }, {
      args: ['--runs', '1', '--db', 'pg', '--max-deaths', '1', '--kill-chance', '0'],
      timeoutMs: 120_000,
    });
    expect(r.code, all(r)).toBe(0);
    expect(r.stdout).toContain(`(PostgreSQL postgres://${ROLE}:***@${admin.host}/${DB})`);
    expect(r.stdout).toMatch(/^TORTURE: /m);
    expectNoPassword(all(r));
  });

  it("the embedded server's URL (WORKBOOK_DB=pg): wf get nope and a lesson's debug log", async () => {
    // The test run's embedded server, used as a user's WORKBOOK_DB=pg would; kept up for the other tests.
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    const dataDir = dirname((await c.query('SHOW data_directory')).rows[0].data_directory as string);
    await c.end();
    const env = { WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: dataDir, WORKBOOK_PG_KEEP: '1', DATABASE_URL: undefined, WORKBOOK_LOG: 'debug' };
    const password = decodeURIComponent(admin.password);
    const leaks = (text: string) => [`:${password}@`, `:${admin.password}@`, `password=${password}`].filter((s) => text.includes(s));
    const nope = await runScript('scripts/wf.ts', env, { args: ['get', 'nope'] });
    expect(nope.code, all(nope)).toBe(2);
    expect(nope.stderr).toContain(`in PostgreSQL postgres://${admin.username}:***@${admin.host}/workbook`);
    expect(leaks(all(nope))).toEqual([]);
    const lesson = await runScript('experiments/ex1.ts', env, { timeoutMs: 60_000 });
    expect(lesson.code, all(lesson)).toBe(0);
    expect(lesson.stderr).toContain(`[debug] engine: PostgreSQL postgres://${admin.username}:***@`);
    expect(leaks(all(lesson))).toEqual([]);
  });
});
