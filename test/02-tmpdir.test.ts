// `npm test` leaves nothing in the temporary directory (issue 12, item 4): every temporary file of
// the run, in the workers and in the child processes they start, goes into the run's own directory
// (test/global-setup.ts), which is removed at the end.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { expect, inject, it } from 'vitest';
import { tempDir } from './helpers.js';

it("the workers and their children write their temporary files into the run's own directory", () => {
  const runTmp = inject('runTmp');
  expect(runTmp).toMatch(/\/workbook-run-[^/]+$/);
  expect(tmpdir()).toBe(runTmp);
  expect(dirname(tempDir('workbook-probe-'))).toBe(runTmp);
  const child = spawnSync(process.execPath, ['-e', 'console.log(require("node:os").tmpdir())'], { encoding: 'utf8' });
  expect(child.stdout.trim()).toBe(runTmp);
});
