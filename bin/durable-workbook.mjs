#!/usr/bin/env node
// durable-workbook crash-test <module> [workflow] [options]: the crash-test harness from a project
// that installed the workbook (npm install --save-dev <tarball or git URL>). The workbook is
// TypeScript; tsx (a dependency) compiles it on the fly, scoped to this import.
import { tsImport } from 'tsx/esm/api';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'crash-test') {
  process.stderr.write(`BAD INPUT: ${command === undefined ? 'no command' : `unknown command "${command}"`}: ` +
    'the one command is crash-test.\nusage: durable-workbook crash-test path/to/workflow.ts [workflowName] [options]  (--help for the options)\n');
  process.exit(2);
}
const { crashTestCli } = await tsImport('../lib/harness/cli.ts', import.meta.url);
await crashTestCli(rest, 'npx durable-workbook crash-test');
