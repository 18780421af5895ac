// `import { crashTest } from 'durable-workbook/harness'` in a project that installed the workbook
// (package.json "exports"): the harness of lib/harness/index.ts, compiled by tsx (a dependency)
// for this import only, so that a test runner (vitest, node --test) loads it as plain JavaScript.
import { tsImport } from 'tsx/esm/api';

const harness = await tsImport('./index.ts', import.meta.url);

export const { crashTest, CrashTestError, HarnessUnsupportedError } = harness;
