// Starts one embedded PostgreSQL for the test run in a temporary directory, hands its admin URL to
// the tests, and stops it at the end: the suite leaves no server running.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../lib/storage/embedded-pg.js';
import { tempDir } from '../lib/storage/fresh.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.WORKBOOK_TEST_DB === 'sqlite') {
    project.provide('pgAdminUrl', '');
    return;
  }
  const root = tempDir('workbook-test-'); // as root, the server runs as the postgres user, who must enter it
  const server = await ensureEmbeddedPostgres(join(root, 'pg'));
  project.provide('pgAdminUrl', server.adminUrl);
  return async () => {
    await stopEmbeddedPostgres(server.dir);
    rmSync(root, { recursive: true, force: true });
  };
}
