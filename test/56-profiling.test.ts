// The profiling tools: the .cpuprofile summary (origins, self and total time), new folders that never
// overwrite, clear errors, and one real run each of clinic flame and 0x that produces HTML.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../lib/config.js';
import { originOf, summarise, type CpuProfile } from '../scripts/cpuprofile-summary.js';
import { newProfileDir } from '../scripts/profile.js';
import { DATABASES, freshDatabase, resultOf, runScript, tempDir } from './helpers.js';

const file = (p: string) => `file://${join(PROJECT_ROOT, p)}`;

describe('cpuprofile summary', () => {
  it('tells the origins of frames apart', () => {
    expect(originOf(file('lib/engine.ts'), 'runStep')).toBe('engine');
    expect(originOf(file('lib/storage/sqlite.ts'), 'run')).toBe('engine');
    expect(originOf(file('experiments/ex5.ts'), 'usersBatchWorkflow')).toBe('lesson');
    expect(originOf(file('lib/user.ts'), 'fakeUsers')).toBe('lesson');
    expect(originOf(file('lib/users-table.ts'), 'insertPage')).toBe('lesson');
    expect(originOf(file('node_modules/better-sqlite3/lib/methods/transaction.js'), 'sqliteTransaction')).toBe('driver');
    expect(originOf(file('node_modules/pg-protocol/dist/parser.js'), 'parse')).toBe('driver');
    expect(originOf(file('node_modules/pg/lib/client.js'), 'query')).toBe('driver');
    expect(originOf(file('node_modules/@faker-js/faker/dist/index.js'), 'fullName')).toBe('faker');
    expect(originOf('node:internal/process/task_queues', 'processTicksAndRejections')).toBe('node');
    expect(originOf('', '(garbage collector)')).toBe('node');
    expect(originOf(file('node_modules/tsx/dist/esm/index.mjs'), '')).toBe('other');
    expect(originOf('', 'run')).toBeUndefined(); // native: counted for its caller
  });

  it('adds self time per function and total time along the stack, natives for their caller', () => {
    const frame = (functionName: string, url: string, columnNumber = 0) => ({ functionName, url, lineNumber: 0, columnNumber });
    // (root) -> workflow (lesson) -> runStep (engine) -> native run ; runStep -> fullName (faker)
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2] },
        { id: 2, callFrame: frame('workflow', file('experiments/ex5.ts')), children: [3] },
        { id: 3, callFrame: frame('runStep', file('lib/engine.ts')), children: [4, 5] },
        { id: 4, callFrame: frame('run', ''), children: [] },
        { id: 5, callFrame: frame('fullName', file('node_modules/@faker-js/faker/dist/x.js')), children: [] },
      ],
      startTime: 0,
      endTime: 10_000,
      // each sample lasts until the next: 1 ms each (timeDeltas in µs)
      samples: [2, 3, 4, 4, 5, 5, 5, 3, 2, 4],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const s = summarise(p);
    const fn = (name: string) => s.functions.find((f) => f.name === name)!;
    expect(fn('workflow').selfMs).toBeCloseTo(2);
    expect(fn('workflow').totalMs).toBeCloseTo(10);
    expect(fn('runStep').selfMs).toBeCloseTo(2);
    expect(fn('runStep').totalMs).toBeCloseTo(8);
    expect(fn('run').origin).toBe('engine'); // the native call takes its caller's origin
    expect(fn('run').selfMs).toBeCloseTo(3);
    expect(s.byOrigin).toMatchObject({ lesson: 2, faker: 3 });
    expect(s.byOrigin.engine).toBeCloseTo(5);
    expect(s.functions.find((f) => f.name === '(root)')?.totalMs ?? 0).toBe(0);
  });

  it('names the problem and the fix for a wrong path or file', async () => {
    const missing = await runScript('scripts/cpuprofile-summary.ts', {}, { args: ['/nonexistent/x.cpuprofile'] });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist.*npm run profile:cpu -- ex5/s);
    const junk = join(tempDir(), 'junk.cpuprofile');
    writeFileSync(junk, '{"not":"a profile"}');
    const bad = await runScript('scripts/cpuprofile-summary.ts', {}, { args: [junk] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a V8 CPU profile/);
  });
});

describe('profile folders and errors', () => {
  it('never reuses a folder, even within one second', () => {
    const base = tempDir('workbook-profiles-');
    const now = new Date('2025-01-02T03:04:05.678Z');
    const a = newProfileDir('cpu', 'ex5', base, now);
    const b = newProfileDir('cpu', 'ex5', base, now);
    expect(a).toBe(join(base, 'cpu-2025-01-02T03-04-05-ex5'));
    expect(b).toBe(`${a}-2`);
    expect(statSync(b).isDirectory()).toBe(true);
  });

  it('a wrong experiment name lists the right ones; a wrong tool shows the usage', async () => {
    const r = await runScript('scripts/profile.ts', { WORKBOOK_PROFILES_DIR: tempDir() }, { args: ['cpu', 'ex99'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no experiment named "ex99".*ex1.*ex5.*ex6/s);
    const u = await runScript('scripts/profile.ts', {}, { args: ['perf', 'ex5'] });
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/usage: npm run profile:cpu\|profile:flame\|profile:0x/);
  });
});

// One small real run of each HTML tool (they are slow: a few seconds each), on the first database.
const kind = DATABASES[0];
const has = (bin: string) => existsSync(join(PROJECT_ROOT, 'node_modules', '.bin', bin));
const tools = [
  { tool: 'flame', bin: 'clinic', html: /\.clinic-flame\.html$/ },
  { tool: '0x', bin: '0x', html: /flamegraph\.html$/ },
];
describe(`${kind}: HTML flame graphs`, () => {
  for (const { tool, bin, html } of tools) {
    it.skipIf(!has(bin))(`npm run profile:${tool} -- ex5 writes an HTML flame graph (skipped only if ${bin} is not installed)`, async () => {
      const { env } = await freshDatabase(kind);
      const base = tempDir('workbook-profiles-');
      const r = await runScript('scripts/profile.ts', { ...env, WORKBOOK_PROFILES_DIR: base }, { args: [tool, 'ex5'], timeoutMs: 230_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((resultOf(r) as { users: number }).users).toBe(1000);
      const out = /^PROFILE: (.*)$/m.exec(r.stdout)?.[1];
      expect(out).toMatch(html);
      expect(out!.startsWith(join(base, `${tool}-`))).toBe(true);
      const text = readFileSync(out!, 'utf8');
      expect(text.length).toBeGreaterThan(10_000);
      expect(text.slice(0, 2000)).toMatch(/<html|<!doctype html/i);
      // The graph is the lesson's thread, not tsx's loader thread (which the tools picked in 2 of 7 runs
      // when the lesson ran under --import tsx): the lesson's, the engine's and faker's frames are in it.
      expect(text).toContain('experiments/ex5.js');
      expect(text).toMatch(/lib\/engine\.js/);
      expect(text).toMatch(/usersBatchWorkflow/);
      expect(text).toMatch(/@faker-js\/faker/);
      expect(r.stdout).toContain('compiled to');
      if (tool === 'flame') expect(r.stdout).toMatch(/NO_INSIGHT=1 npx clinic flame/);
      expect(existsSync(join(out!, '..', 'build'))).toBe(false); // the compiled tree is removed after the run
    }, 240_000);
  }
});
