// The embedded PostgreSQL as a user meets it: the first run starts it, a run that dies by
// process.abort() leaves it running and the next run finds it, a server killed hard leaves a stale
// postmaster.pid that the next run clears, and a clean run stops it when nobody else uses it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidAlive } from '../lib/pid.js';
import { stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';
import { DATABASES, resultOf, runScript, tempDir } from './helpers.js';

const serverPid = (dir: string) => Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);

describe.skipIf(!DATABASES.includes('postgres'))('embedded PostgreSQL under data/pg', () => {
  it('survives an aborted run, a stale lock, and stops after a clean run', async () => {
    const data = tempDir('workbook-embedded-');
    const dir = join(data, 'pg');
    const env = { WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: data, DATABASE_URL: '', COUNTER_FILE: join(data, 'counter'), WORKFLOW_ID: 'w', STEPS: '4' };
    try {
      // 1. First run: initialises and starts the server, then dies by abort after step 1.
      const first = await runScript('test/fixtures/crash-counter.ts', { ...env, MODE: 'start', CRASH_AFTER: '1' });
      expect(first.signal).toBe('SIGABRT');
      expect(first.stderr).toMatch(/initialising .*pg \(first run only\)/);
      const pid1 = serverPid(dir);
      expect(pidAlive(pid1)).toBe(true); // left running by the dead run

      // 2. The server is killed hard too: postmaster.pid stays behind, naming a dead process.
      process.kill(pid1, 'SIGKILL');
      while (pidAlive(pid1)) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(join(dir, 'postmaster.pid'))).toBe(true);

      // 3. The next run clears the stale lock, starts the server, recovers the workflow, stops the server.
      const second = await runScript('test/fixtures/crash-counter.ts', { ...env, MODE: 'recover' });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/removing a stale postmaster\.pid/);
      expect(resultOf(second)).toBe(0 + 1 + 4 + 9);
      expect(second.stderr).toMatch(/embedded PostgreSQL stopped/);
      expect(existsSync(join(dir, 'postmaster.pid'))).toBe(false);
    } finally {
      await stopEmbeddedPostgres(dir);
    }
  });
});
