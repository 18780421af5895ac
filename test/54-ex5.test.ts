// ex5 on both databases: 1,000 users (counted by the lesson and read back from the database), and a
// --cpu-prof run whose text summary tells engine frames from lesson frames.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { DATABASES, freshDatabase, queryDatabase, resultOf, runScript, tempDir } from './helpers.js';

interface Ex5Result { users: number; database: string; checkpoints: number; ms: Record<string, number> }

async function usersInDatabase(choice: DatabaseChoice): Promise<number> {
  return (await queryDatabase(choice, 'ex5', 'SELECT COUNT(*) AS n FROM users'))[0].n;
}

/** The summary's rows of one origin: "  self %  total %  <origin> <function>  <file>". */
function framesOf(summary: string, origin: string): string[] {
  return summary.split('\n').filter((l) => new RegExp(`%\\s+${origin}\\s+\\S`).test(l));
}

for (const kind of DATABASES) {
  describe(`${kind}: ex5`, () => {
    it('finishes with 1,000 users in 10 child batch workflows', async () => {
      const { choice, env } = await freshDatabase(kind);
      const r = await runScript('experiments/ex5.ts', env);
      expect(r.code, r.stderr).toBe(0);
      const res = resultOf(r) as Ex5Result;
      expect(res.users).toBe(1000);
      expect(res.database).toBe(kind);
      expect(await usersInDatabase(choice)).toBe(1000);
      // 1 set-up step, 10 child starts, 10 awaited child results (DBOS.getResult, as DBOS records
      // them), 1 count, and 10 page steps in each of the 10 batches.
      expect(res.checkpoints).toBe(1 + 10 + 10 + 1 + 10 * 10);
      // The time split adds up: the lesson's work and the engine's overhead are the total, the
      // lesson's work holds its generate and insert time, the checkpoint writes are part of the
      // engine's; each part was measured (not 0); the printed lines say the same as RESULT.
      const t = res.ms;
      const tenth = 0.2; // each figure is rounded to 0.1 ms
      for (const k of ['total', 'lesson', 'engine', 'generate', 'insert', 'checkpoint']) expect(t[k], k).toBeGreaterThan(0);
      expect(Math.abs(t.lesson + t.engine - t.total)).toBeLessThanOrEqual(tenth);
      expect(t.lesson).toBeGreaterThanOrEqual(t.generate + t.insert - tenth);
      expect(t.checkpoint).toBeLessThanOrEqual(t.engine + tenth);
      const printed = (label: string) => Number(new RegExp(`^${label}\\s+([\\d.]+) ms`, 'm').exec(r.stdout)?.[1]);
      expect(Math.abs(printed("lesson's work") - t.lesson)).toBeLessThanOrEqual(tenth);
      expect(Math.abs(printed('engine overhead') - t.engine)).toBeLessThanOrEqual(tenth);
      expect(Math.abs(printed('total') - t.total)).toBeLessThanOrEqual(tenth);
      expect(r.stdout).toMatch(new RegExp(`^engine overhead .* ms .*checkpoint writes ${t.checkpoint.toFixed(1)} in ${res.checkpoints} writes`, 'm'));
    });

    it('profiles with --cpu-prof into a new folder, and the summary names engine and lesson frames', async () => {
      const { env } = await freshDatabase(kind);
      const base = tempDir('workbook-profiles-');
      const r = await runScript('scripts/profile.ts', { ...env, WORKBOOK_PROFILES_DIR: base }, { args: ['cpu', 'ex5'] });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((resultOf(r) as Ex5Result).users).toBe(1000);
      const dir = /^PROFILE: (.*)$/m.exec(r.stdout)?.[1];
      expect(dir).toMatch(/\/cpu-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-ex5$/);
      expect(readdirSync(dir!).filter((f) => f.endsWith('.cpuprofile')).length).toBeGreaterThan(0);
      // The main thread's profile, named by its path, holds the lesson's and the engine's frames (the other thread is tsx's loader).
      const main = /^the lesson's thread \(thread 0; the other is tsx's module loader\): (.*\.cpuprofile)$/m.exec(r.stdout)?.[1];
      expect(main, r.stdout).toBeDefined();
      const urls = new Set((JSON.parse(readFileSync(main!, 'utf8')) as { nodes: { callFrame: { url: string } }[] }).nodes.map((n) => n.callFrame.url));
      expect([...urls].some((u) => u.endsWith('experiments/ex5.ts'))).toBe(true);
      expect([...urls].some((u) => u.endsWith('lib/engine.ts'))).toBe(true);

      const s = await runScript('scripts/cpuprofile-summary.ts', {}, { args: [dir!] });
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout).toMatch(/Top \d+ functions by self time/);
      expect(framesOf(s.stdout, 'engine').some((l) => /\blib\/\S+\.ts/.test(l))).toBe(true);
      expect(framesOf(s.stdout, 'lesson').some((l) => l.includes('experiments/ex5.ts'))).toBe(true);
      expect(framesOf(s.stdout, 'faker').length).toBeGreaterThan(0);

      // A second run never writes into the first one's folder.
      const again = await runScript('scripts/profile.ts', { ...env, WORKBOOK_PROFILES_DIR: base }, { args: ['cpu', 'ex1'] });
      expect(again.code).toBe(0);
      expect(readdirSync(base)).toHaveLength(2);
      expect(existsSync(dir!)).toBe(true);
    });
  });
}
