// Every embedded PostgreSQL the workbook started can be found and stopped (issue 12, item 3), with
// real processes: a server whose data directory was removed while it ran (`rm -rf data`) is
// stopped by `npm run pg:stop`; Ctrl-C during a --pg run stops the server, or says that it stays
// up; the URL that pg:url printed stays right across a restart (the port is kept).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pidAlive } from '../lib/pid.js';
import { stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';
import { ourServers, serves } from '../lib/storage/pg-servers.js';
import { DATABASES, runScript, tempDir } from './helpers.js';

const started: string[] = [];
/** A data directory of its own, with the environment that points the workbook at it (no DATABASE_URL). */
function place() {
  const data = tempDir('workbook-pgservers-');
  started.push(data);
  return { data, env: { WORKBOOK_DB: 'pg', WORKBOOK_DATA_DIR: data, DATABASE_URL: '', WORKBOOK_PG_KEEP: '' } };
}
const serverOf = (data: string) => ourServers().find((s) => serves(s, join(data, 'pg')));

afterEach(async () => {
  for (const data of started.splice(0)) {
    await stopEmbeddedPostgres(join(data, 'pg'));
    rmSync(data, { recursive: true, force: true });
  }
});

describe.runIf(DATABASES.includes('postgres'))('embedded PostgreSQL servers a user can always find and stop', () => {
  it('pg:url keeps its port across a restart; after rm -rf data and another --pg run, pg:stop stops the orphaned server', async () => {
    const { data, env } = place();
    const first = await runScript('scripts/pg-url.ts', env);
    expect(first.code, first.stderr).toBe(0);
    const url = first.stdout.trim();
    expect(url).toMatch(/^postgres:\/\/postgres:workbook@127\.0\.0\.1:\d+\/workbook$/);
    expect((await runScript('scripts/pg-stop.ts', env)).stdout).toMatch(/embedded PostgreSQL in .*\/pg \(port \d+\): stopped/);
    expect(serverOf(data)).toBeUndefined();
    const again = await runScript('scripts/pg-url.ts', env); // restarted: the same port, so the URL printed before still works
    expect(again.stdout.trim()).toBe(url);
    const orphan = serverOf(data)!;
    expect(orphan.dirHoldsIt).toBe(true);

    rmSync(data, { recursive: true, force: true }); // the user's rm -rf data, with the server up
    const lesson = await runScript('experiments/ex1.ts', env, { args: ['--pg'] });
    expect(lesson.code, lesson.stderr).toBe(0); // a new server in a new data/pg, stopped at the end
    expect(pidAlive(orphan.pid)).toBe(true); // ... and the first one still runs, unreachable by pg_ctl
    expect(ourServers().find((s) => s.pid === orphan.pid)?.dirHoldsIt).toBe(false);

    const stop = await runScript('scripts/pg-stop.ts', env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`embedded PostgreSQL on port ${orphan.port} (process ${orphan.pid}): its data directory ${orphan.dir} was removed while it ran; stopped`);
    expect(pidAlive(orphan.pid)).toBe(false);
  });

  it('Ctrl-C during a --pg run stops the server it started, or says it stays up (WORKBOOK_PG_KEEP=1) and pg:stop stops it', async () => {
    const interrupt = (env: Record<string, string>) => runScript('experiments/ex6.ts', { ...env, WORKBOOK_P_CRASH_AFTER_WRITE: '0' }, {
      args: ['--pg'],
      onLine: (line, child) => void (line.startsWith('STARTED:') && child.kill('SIGINT')),
    });
    const a = place();
    const r = await interrupt(a.env);
    expect(r.signal, r.stdout + r.stderr).toBe('SIGINT'); // it still dies of the interrupt
    expect(r.stdout).not.toMatch(/^RESULT/m);
    expect(r.stderr).toMatch(/interrupted \(Ctrl-C\): checking the embedded PostgreSQL this run used\n[\s\S]*\n {2}embedded PostgreSQL stopped/);
    expect(serverOf(a.data)).toBeUndefined();

    const b = place();
    const kept = await interrupt({ ...b.env, WORKBOOK_PG_KEEP: '1' });
    expect(kept.signal).toBe('SIGINT');
    expect(kept.stderr).toMatch(/embedded PostgreSQL in .*\/pg \(port \d+\) stays up \(WORKBOOK_PG_KEEP=1\): npm run pg:stop stops it/);
    expect(serverOf(b.data)).toBeDefined();
    expect((await runScript('scripts/pg-stop.ts', b.env)).stdout).toMatch(/\(port \d+\): stopped/);
    expect(serverOf(b.data)).toBeUndefined();
  });
});
