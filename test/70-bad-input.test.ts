// Bad input, table-driven: each case runs a real lesson, script or fixture as a child process with
// one thing wrong, and expects its exit code, a message that names the problem and the fix (and
// never a password), and that nothing committed before is lost: each database first gets a real
// ex1 run whose rows must all still be there, unchanged, after every case; some cases check more.
// Whether a case's run opened that database at all is checked too (a launch leaves its executor
// row): a case that says `opens` must have reached it, so "nothing lost" means something there; any
// other must have been refused before it touched it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { withDatabase } from '../lib/storage/open.js';
import { closedPort, DATABASES, freshDatabase, runScript, tempDir, type DbKind, type RunResult } from './helpers.js';

interface Ctx {
  kind: DbKind;
  /** the database ex1 committed to; the cases that use a database use this one */
  choice: DatabaseChoice;
  env: Record<string, string | undefined>;
  /** a fresh directory of the case's own */
  dir: string;
}

interface BadCase {
  name: string;
  kinds?: DbKind[];
  file: string;
  args?: string[];
  env: (c: Ctx) => Record<string, string | undefined> | Promise<Record<string, string | undefined>>;
  /** runs first: commits what the bad run must not lose */
  before?: (c: Ctx) => Promise<void>;
  code: number;
  says: RegExp[];
  /** must not appear in the output */
  secret?: string;
  after?: (c: Ctx, r: RunResult) => Promise<void>;
  /** the run launches the engine on the committed database (default: it is refused before it does) */
  opens?: boolean;
}

const EX1 = 'experiments/ex1.ts';
const FIX = 'test/fixtures/bad-input.ts';
const onPg = (c: Ctx, url: string) => ({ ...c.env, WORKBOOK_DB: 'pg', DATABASE_URL: url, WORKBOOK_DATA_DIR: c.dir });
const onSqlite = (c: Ctx, file: string) => ({ ...c.env, WORKBOOK_DB: 'sqlite', WORKBOOK_SQLITE_FILE: file, WORKBOOK_DATA_DIR: c.dir });
const withPassword = (url: string, pw: string) => Object.assign(new URL(url), { password: pw }).toString();
const nothingCreated = async (c: Ctx) => expect(readdirSync(c.dir)).toEqual([]); // no silent fallback to a SQLite file

async function query(c: Ctx, sql: (S: string) => string): Promise<Record<string, unknown>[]> {
  return withDatabase(c.choice, 'badinput', 'bad-input-check', (db) => db.app.query(sql(c.kind === 'sqlite' ? '' : 'dbos.')));
}
const steps = (c: Ctx, id: string) => query(c, (S) => `SELECT function_id, function_name, output, error FROM ${S}operation_outputs WHERE workflow_uuid = '${id}' ORDER BY function_id`);
const statusOf = async (c: Ctx, id: string) => (await query(c, (S) => `SELECT status FROM ${S}workflow_status WHERE workflow_uuid = '${id}'`))[0]?.status;

/** A step result SuperJSON (DBOS's format) would drop: the workflow fails (exit 1), the first step's checkpoint stays. */
function badResult(kind: string, problem: RegExp): BadCase {
  const id = `bad-result-${kind}`;
  return {
    name: `a step result that is ${kind}`, file: FIX, code: 1, opens: true,
    env: (c) => ({ ...c.env, BAD_WF_ID: id, BAD_RESULT: kind }),
    says: [/the result of step badResult cannot be stored: /, problem, /which the stored value \(SuperJSON, as DBOS\) would silently drop\. .*drop functions and symbols/],
    after: async (c) => {
      expect(await statusOf(c, id)).toBe('ERROR');
      const s = await steps(c, id);
      expect(s.map((r) => [Number(r.function_id), r.function_name, r.output])).toEqual([[0, 'first', '{"json":"first done","__dbos_serializer":"superjson"}'], [1, 'badResult', null]]);
      expect(String(s[1].error)).toMatch(/NotSerializableError/);
    },
  };
}

function badOption(what: string, opts: object, says: RegExp): BadCase {
  return {
    name: `invalid step options: ${what}`, file: FIX, code: 2, opens: true,
    env: (c) => ({ ...c.env, BAD_WF_ID: `bad-opts-${what}`, BAD_STEP_OPTS: JSON.stringify(opts) }),
    says: [says, /Fix the step's options/],
    after: async (c) => expect(await statusOf(c, `bad-opts-${what}`)).toBeUndefined(), // refused before anything started
  };
}

const CASES: BadCase[] = [
  // Where the database is.
  { name: 'a malformed DATABASE_URL', kinds: ['postgres'], file: EX1, code: 2, secret: 'Sekret-1a',
    env: (c) => onPg(c, 'postgres//admin:Sekret-1a@localhost/db'),
    says: [/DATABASE_URL .* is not usable: it is not a URL/, /Expected postgres:\/\/user:password@host:5432\/database; unset DATABASE_URL to use SQLite/],
    after: nothingCreated },
  { name: 'a DATABASE_URL of another scheme', kinds: ['postgres'], file: EX1, code: 2, secret: 'Sekret-1b',
    env: (c) => onPg(c, 'mysql://admin:Sekret-1b@localhost/db'),
    says: [/the scheme is "mysql", not postgres/, /unset DATABASE_URL to use SQLite/], after: nothingCreated },
  { name: 'an unknown host', kinds: ['postgres'], file: EX1, code: 2, secret: 'Sekret-2',
    env: (c) => onPg(c, 'postgres://admin:Sekret-2@no-such-host.invalid:5432/db'),
    says: [/the host "no-such-host.invalid" is unknown/, /Check the host name in DATABASE_URL/], after: nothingCreated },
  { name: 'a wrong password', kinds: ['postgres'], file: EX1, code: 2, secret: 'Wrong-Pw-3',
    env: (c) => onPg(c, withPassword(inject('pgAdminUrl'), 'Wrong-Pw-3')),
    says: [/the server refused the login of user "postgres" \(28P01/, /Check the user and password in DATABASE_URL/, /postgres:\*\*\*@127\.0\.0\.1/] },
  { name: 'a server that is down (a closed port)', kinds: ['postgres'], file: EX1, code: 2, secret: 'Sekret-4',
    env: async (c) => onPg(c, `postgres://admin:Sekret-4@127.0.0.1:${await closedPort()}/db`),
    says: [/the connection was refused \(ECONNREFUSED\)/, /Is the server running on 127\.0\.0\.1:\d+\?/], after: nothingCreated },
  { name: 'a database choice that does not exist', file: EX1, code: 2, env: (c) => ({ ...c.env, WORKBOOK_DB: 'mysql' }),
    says: [/WORKBOOK_DB=mysql is not a database choice: use WORKBOOK_DB=sqlite \(the default\) or WORKBOOK_DB=pg/] },
  { name: 'a SQLite file in a directory that does not exist', kinds: ['sqlite'], file: EX1, code: 2,
    env: (c) => onSqlite(c, join(c.dir, 'missing', 'sub', 'x.db')),
    says: [/the directory .*missing\/sub does not exist/, /Create it \(mkdir -p .*\), or: Set WORKBOOK_SQLITE_FILE to a writable file path/],
    after: async (c) => expect(existsSync(join(c.dir, 'missing'))).toBe(false) },
  { name: 'a SQLite file under a regular file (cannot be written, even by root)', kinds: ['sqlite'], file: EX1, code: 2,
    before: async (c) => writeFileSync(join(c.dir, 'plain.txt'), 'plain'),
    env: (c) => onSqlite(c, join(c.dir, 'plain.txt', 'x.db')),
    says: [/plain\.txt is not a directory/, /Set WORKBOOK_SQLITE_FILE to a writable file path/],
    after: async (c) => expect(readFileSync(join(c.dir, 'plain.txt'), 'utf8')).toBe('plain') },
  { name: 'a SQLite file in /proc (cannot be created, even by root)', kinds: ['sqlite'], file: EX1, code: 2,
    env: (c) => onSqlite(c, '/proc/workbook-bad-input.db'),
    says: [/it cannot be opened for writing/, /Check the permissions of \/proc/], after: nothingCreated },
  { name: 'a file that is not a SQLite database', kinds: ['sqlite'], file: EX1, code: 2,
    before: async (c) => writeFileSync(join(c.dir, 'notes.db'), 'my notes, not a database\n'.repeat(200)),
    env: (c) => onSqlite(c, join(c.dir, 'notes.db')),
    says: [/the file is not a SQLite database \(nothing was written to it\)/, /Move it away/],
    after: async (c) => {
      expect(readFileSync(join(c.dir, 'notes.db'), 'utf8')).toBe('my notes, not a database\n'.repeat(200));
      expect(readdirSync(c.dir)).toEqual(['notes.db']); // no -wal or -shm beside it either
    } },

  // What a step returns.
  badResult('function', /a function \(format\) at \$\.format/),
  badResult('symbol', /a symbol \(Symbol\(s\)\) at \$\.tag/),

  // The code changed under a PENDING workflow.
  // Both runs pin one version (DBOS__APPVERSION): edited code has another default version, whose
  // process would leave the crashed workflow alone (ex8) instead of meeting the changed code.
  { name: 'a step renamed between runs', file: FIX, code: 1, opens: true,
    before: async (c) => expect((await runScript(FIX, { ...c.env, DBOS__APPVERSION: 'v70', BAD_WF_ID: 'bad-rename-step', BAD_CRASH_AFTER_STEP0: '1' })).signal).toBe('SIGABRT'),
    env: (c) => ({ ...c.env, DBOS__APPVERSION: 'v70', BAD_WF_ID: 'bad-rename-step', BAD_STEP0_NAME: 'firstRenamed' }),
    says: [/During execution of workflow bad-rename-step step 0, function first was recorded when firstRenamed was expected/, /Check that your workflow is deterministic/],
    after: async (c) => {
      expect(await statusOf(c, 'bad-rename-step')).toBe('ERROR');
      expect((await steps(c, 'bad-rename-step')).map((r) => [Number(r.function_id), r.function_name, r.output])).toEqual([[0, 'first', '{"json":"first done","__dbos_serializer":"superjson"}']]);
    } },
  { name: 'a workflow renamed between runs', file: FIX, code: 2, opens: true,
    before: async (c) => expect((await runScript(FIX, { ...c.env, DBOS__APPVERSION: 'v70', BAD_WF_ID: 'bad-rename-wf', BAD_CRASH_AFTER_STEP0: '1' })).signal).toBe('SIGABRT'),
    env: (c) => ({ ...c.env, DBOS__APPVERSION: 'v70', BAD_WF_ID: 'bad-rename-wf', BAD_WF_NAME: 'renamedWorkflow' }),
    says: [/Workflow bad-rename-wf is PENDING under the name "badInputWorkflow", but no workflow of that name is registered \(known: renamedWorkflow\)/,
      /It was left PENDING, nothing is lost\. Register it again under its old name to recover it, or cancel it/],
    after: async (c) => {
      expect(await statusOf(c, 'bad-rename-wf')).toBe('PENDING');
      // Nothing lost: under its old name it is recovered from its checkpoint and finishes.
      const again = await runScript(FIX, { ...c.env, DBOS__APPVERSION: 'v70', BAD_WF_ID: 'bad-rename-wf' });
      expect(again.code, again.stderr).toBe(0);
      expect(await statusOf(c, 'bad-rename-wf')).toBe('SUCCESS');
      expect((await steps(c, 'bad-rename-wf')).map((r) => r.function_name)).toEqual(['first', 'badResult']);
    } },

  // Step options, checked when the step is registered.
  badOption('negative attempts', { retriesAllowed: true, maxAttempts: -1 }, /Step "configured": maxAttempts must be a whole number >= 1 \(got -1\)/),
  badOption('backoff rate below 1', { retriesAllowed: true, backoffRate: 0.5 }, /Step "configured": backoffRate must be a number >= 1 \(got 0\.5\)/),
  badOption('interval not a number', { retriesAllowed: true, intervalSeconds: 'abc' }, /Step "configured": intervalSeconds must be a number >= 0 \(got "abc"\)/),

  // The environment of a real lesson (ex6), checked before it touches the database.
  { name: 'a failure probability of 2', file: 'experiments/ex6.ts', code: 2, env: (c) => ({ ...c.env, WORKBOOK_P_INSERT_AFTER_WRITE: '2' }),
    says: [/WORKBOOK_P_INSERT_AFTER_WRITE=2 is not a probability: give a number from 0 to 1, e\.g\. WORKBOOK_P_INSERT_AFTER_WRITE=0\.5/] },
  { name: 'a failure probability of abc', file: 'experiments/ex6.ts', code: 2, env: (c) => ({ ...c.env, WORKBOOK_P_CRASH_AFTER_WRITE: 'abc' }),
    says: [/WORKBOOK_P_CRASH_AFTER_WRITE=abc is not a probability: give a number from 0 to 1/] },
  { name: 'a seed that is not a number', file: 'experiments/ex6.ts', code: 2, env: (c) => ({ ...c.env, WORKBOOK_SEED: 'abc' }),
    says: [/WORKBOOK_SEED=abc is not a seed: give a whole number from 0 to 999999999, e\.g\. WORKBOOK_SEED=42/] },

  // The scripts that take an experiment's name.
  { name: 'an experiment that does not exist, given to the loop', file: 'scripts/loop.ts', args: ['ex99'], code: 2, env: (c) => c.env,
    says: [/There is no experiment named "ex99"\. The experiments are: ex1, ex2, .*ex6(, ex\d+)*\. Give one of these names/] },
  { name: 'an experiment that does not exist, given to the profiler', file: 'scripts/profile.ts', args: ['cpu', 'ex99'], code: 2, env: (c) => c.env,
    says: [/There is no experiment named "ex99"\. The experiments are: ex1, ex2, .*ex6(, ex\d+)*\. Give one of these names/] },
  { name: 'a run count that is not a number, given to the torture', file: 'scripts/torture.ts', args: ['--runs', 'many'], code: 2, env: (c) => c.env,
    says: [/--runs many is not usable: give a whole number >= 1, e\.g\. --runs 100/] },
];

/** Executor rows: each launch on the committed database leaves one. */
const executors = async (c: Ctx) => Number((await query(c, (S) => `SELECT COUNT(*) AS n FROM ${S}executors`))[0].n);

/** Every workflow and step row, and the users ex1 wrote: what must survive each case. */
async function committed(c: Ctx): Promise<string[]> {
  const users = c.kind === 'sqlite' ? 'users' : 'ex1.users';
  return [
    ...(await query(c, (S) => `SELECT workflow_uuid, name, status, output FROM ${S}workflow_status WHERE name = 'usersWorkflow'`)),
    ...(await query(c, (S) => `SELECT o.workflow_uuid, function_id, function_name, o.output FROM ${S}operation_outputs o JOIN ${S}workflow_status w ON w.workflow_uuid = o.workflow_uuid WHERE w.name = 'usersWorkflow'`)),
    ...(await query(c, () => `SELECT id, workflow_id, analyzed_at FROM ${users}`)),
  ].map((r) => JSON.stringify(r)).sort();
}

for (const kind of DATABASES) {
  describe(`${kind}: bad input`, () => {
    const ctx = { kind } as Ctx;
    let before: string[] = [];
    beforeAll(async () => {
      const base = await freshDatabase(kind);
      Object.assign(ctx, { choice: base.choice, env: base.env });
      const r = await runScript(EX1, base.env);
      expect(r.code, r.stderr).toBe(0);
      before = await committed(ctx);
      expect(before.length).toBeGreaterThan(20); // 1 workflow, its 3 steps, 20 users
    });

    for (const bad of CASES.filter((b) => !b.kinds || b.kinds.includes(kind))) {
      it(`${bad.name}: exit ${bad.code}, says the problem and the fix`, async () => {
        const c: Ctx = { ...ctx, dir: tempDir('bad-input-') };
        await bad.before?.(c);
        const launches = await executors(c);
        const r = await runScript(bad.file, await bad.env(c), { args: bad.args });
        const out = r.stdout + r.stderr;
        expect(r.code, out).toBe(bad.code);
        for (const s of bad.says) expect(out).toMatch(s);
        if (bad.secret) expect(out).not.toContain(bad.secret);
        // Read before `after`, which may run the fixture again.
        expect(await executors(c) > launches, 'the run opened the committed database').toBe(bad.opens ?? false);
        await bad.after?.(c, r);
        expect(await committed(c)).toEqual(expect.arrayContaining(before));
      });
    }
  });
}
