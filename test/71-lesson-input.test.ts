// Wrong input a new user types, refused or warned about instead of silently ignored (issue 12,
// items 6 and 8): an unknown flag, a misspelled WORKBOOK_* variable, --resume of an id that does
// not exist, an application named by a reserved SQL word; and an injected crash that prints the
// lesson's own line without Node's stack trace (WORKBOOK_TRACE=1 asks for it), still a real SIGABRT.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { checkAppName } from '../lib/config.js';
import { checkLessonArgs, DATABASE_FLAGS, nearest, unknownVariables } from '../lib/lesson-input.js';
import { DATABASES, freshDatabase, queryDatabase, runScript, tempDir } from './helpers.js';

describe('the checks themselves', () => {
  it('a flag a lesson does not take is refused, with the valid ones and the nearest', () => {
    expect(() => checkLessonArgs('ex1', DATABASE_FLAGS, ['--postgres'])).toThrow(/ex1 does not take "--postgres" \(did you mean --pg\?\)\. It takes: --pg .*--sqlite/);
    expect(() => checkLessonArgs('ex1', DATABASE_FLAGS, ['--sqlit'])).toThrow(/did you mean --sqlite/);
    expect(() => checkLessonArgs('ex1', DATABASE_FLAGS, ['--pg'])).not.toThrow();
    const resuming = [...DATABASE_FLAGS, { flag: '--resume', value: '<id>', help: 'resume it' }];
    expect(() => checkLessonArgs('ex3', resuming, ['--resume', 'some-id', '--pg'])).not.toThrow();
    expect(() => checkLessonArgs('ex3', resuming, ['extra'])).toThrow(/does not take "extra"/);
  });

  it('an unknown WORKBOOK_ variable is named, with the nearest known one', () => {
    const env = { WORKBOOK_P_CRASH_AFTER_WRTE: '1', WORKBOOK_DATTA_DIR: '/x', WORKBOOK_SEED: '3', WORKBOOK_ZZZ: '1', PATH: '/bin' };
    const w = unknownVariables('ex6', env, ['generate', 'insert-after-write', 'crash-after-write']);
    expect(w).toEqual([
      expect.stringMatching(/^WORKBOOK_DATTA_DIR is not a variable the workbook reads, so it is ignored: did you mean WORKBOOK_DATA_DIR\?$/),
      expect.stringMatching(/^WORKBOOK_P_CRASH_AFTER_WRTE is not a fault site of ex6, so it is ignored: did you mean WORKBOOK_P_CRASH_AFTER_WRITE\?$/),
      expect.stringMatching(/^WORKBOOK_ZZZ is not a variable the workbook reads/),
    ]);
    expect(unknownVariables('ex1', { WORKBOOK_P_CRASH_AFTER_PAGE_1: '1' }, [])).toEqual([expect.stringMatching(/ex1 injects no faults/)]);
    expect(nearest('WORKBOOK_P_CRASH_AFTER_WRTE', ['WORKBOOK_P_CRASH_AFTER_PAGE_1'])).toBeUndefined();
  });

  it('an application named by a reserved SQL word is refused with the fix', () => {
    expect(() => checkAppName('check')).toThrow(/"check" is a reserved word of SQL\. Choose another name, e\.g\. "check_app"/);
    for (const bad of ['user', 'select', 'table', 'dbos', 'pg_catalog']) expect(() => checkAppName(bad)).toThrow(/is not usable/);
    for (const ok of ['ex1', 'checkout', 'users', 'torture']) expect(checkAppName(ok)).toBe(ok);
  });
});

describe.runIf(DATABASES.includes('postgres'))('postgres: the reserved words are those of the server', () => {
  it('every name checkAppName accepts is a schema name PostgreSQL takes unquoted, and every reserved key word is refused', async () => {
    const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await client.connect();
    try {
      const { rows } = await client.query<{ word: string }>("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')");
      const accepted = rows.map((r) => r.word).filter((w) => /^[a-z][a-z0-9_]*$/.test(w) && (() => { try { checkAppName(w); return true; } catch { return false; } })());
      expect(accepted, 'reserved words checkAppName lets through').toEqual([]);
      // and a refused one really fails there, an accepted one really works
      await expect(client.query('CREATE SCHEMA check')).rejects.toThrow(/syntax error/);
      await client.query('CREATE SCHEMA IF NOT EXISTS checkout; DROP SCHEMA checkout');
    } finally {
      await client.end();
    }
  });
});

describe('lessons as a user runs them', () => {
  it('ex1 --postgres exits 2 naming --pg, and starts nothing', async () => {
    const dir = tempDir('workbook-input-');
    const r = await runScript('experiments/ex1.ts', { WORKBOOK_DATA_DIR: dir, WORKBOOK_DB: undefined, DATABASE_URL: undefined, WORKBOOK_SQLITE_FILE: undefined }, { args: ['--postgres'] });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/BAD INPUT: ex1 does not take "--postgres" \(did you mean --pg\?\)/);
    expect(readdirSync(dir)).toEqual([]); // no SQLite file was made instead
  });

  for (const kind of DATABASES) {
    it(`${kind}: a misspelled variable is warned about; ex3 --resume nosuchid exits 2; a crash prints one line, the trace on request`, async () => {
      const { env, choice } = await freshDatabase(kind);
      const typo = await runScript('experiments/ex3.ts', { ...env, WORKBOOK_P_CRASH_AFTER_PAGE1: '1', WORKBOOK_P_CRASH_AFTER_PAGE_1: '0' });
      expect(typo.code, typo.stderr).toBe(0);
      expect(typo.stderr).toMatch(/\[warn\] WORKBOOK_P_CRASH_AFTER_PAGE1 is not a fault site of ex3, so it is ignored: did you mean WORKBOOK_P_CRASH_AFTER_PAGE_1\?/);

      const resume = await runScript('experiments/ex3.ts', env, { args: ['--resume', 'nosuchid'] });
      expect(resume.code, resume.stderr).toBe(2);
      expect(resume.stderr).toMatch(/BAD INPUT: --resume nosuchid: there is no workflow with that id .*npm run wf -- list --app ex3/);

      const crash = await runScript('experiments/ex3.ts', { ...env, WORKBOOK_P_CRASH_AFTER_PAGE_1: '1' });
      expect(crash.signal, crash.stderr).toBe('SIGABRT'); // a real crash, as process.abort()
      expect(crash.stderr).toMatch(/^\[fault\] CRASHING at crash-after-page-1 seed=1 attempt=1 draw=1 p=1$/m);
      expect(crash.stderr).not.toMatch(/stack trace|node::Abort|crashNow/i);
      expect(crash.stdout).not.toMatch(/insertPage\(2\)|RESULT/); // nothing ran after the crash point
      // the crashed run emptied the table and inserted page 1: page 2 never ran in the crashed process
      expect(await queryDatabase(choice, 'ex3', 'SELECT COUNT(*) AS n FROM users')).toEqual([{ n: 10 }]);

      const traced = await runScript('experiments/ex3.ts', { ...env, WORKBOOK_P_CRASH_AFTER_PAGE_1: '1', WORKBOOK_TRACE: '1' });
      expect(traced.signal).toBe('SIGABRT');
      expect(traced.stderr).toMatch(/JavaScript stack trace[\s\S]*crashNow/);
      expect(existsSync(join(env.WORKBOOK_DATA_DIR, 'core'))).toBe(false);
    });
  }
});
