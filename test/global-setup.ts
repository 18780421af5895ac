// The test run's own temporary directory, and one embedded PostgreSQL for the run.
//
// Every temporary file of the run goes into one directory made here, `workbook-run-XXXX` in the
// system's temporary directory: TMPDIR points there for the test workers and every child process
// they start (lessons, scripts, the PostgreSQL server's files), so os.tmpdir() is that directory
// everywhere. At the end the server is stopped and the directory removed: `npm test` leaves nothing
// in the temporary directory, whatever a test forgot to clean up. Then the system's temporary
// directory is compared with what it held before, and anything new of ours is named (a warning:
// other programs on the machine may write there at the same time).
import { mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    /** the run's own temporary directory (TMPDIR of every worker and child) */
    runTmp: string;
  }
}

/** Names the workbook's code gives its temporary files and directories. */
const OURS = /^(workbook|crash-test|torture|test-|chaos|bench|profile)/;

export default async function setup(project: TestProject) {
  const systemTmp = tmpdir();
  const before = new Set(readdirSync(systemTmp));
  const root = mkdtempSync(join(systemTmp, 'workbook-run-'));
  chmodSync(root, 0o755); // as root, the server runs as the postgres user, who must enter it
  process.env.TMPDIR = root; // inherited by the workers (started after this) and their children
  project.provide('runTmp', root);

  let server: Awaited<ReturnType<typeof ensureEmbeddedPostgres>> | undefined;
  if (process.env.WORKBOOK_TEST_DB === 'sqlite') project.provide('pgAdminUrl', '');
  else {
    server = await ensureEmbeddedPostgres(join(root, 'pg'));
    project.provide('pgAdminUrl', server.adminUrl);
  }
  return async () => {
    if (server) await stopEmbeddedPostgres(server.dir);
    rmSync(root, { recursive: true, force: true });
    process.env.TMPDIR = systemTmp;
    const left = readdirSync(systemTmp).filter((name) => !before.has(name) && OURS.test(name));
    if (left.length) {
      process.stderr.write(`\nwarning: ${left.length} new entr${left.length === 1 ? 'y' : 'ies'} in ${systemTmp} since the run began ` +
        `(this run's files all went to its own directory, now removed; these may be another program's): ${left.slice(0, 10).join(', ')}\n`);
    }
  };
}
