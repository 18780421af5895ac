// The flame-graph tools (clinic flame, 0x) read one V8 log per process, and pick the first log file
// they find. Run with `node --import tsx`, a lesson has two JavaScript threads (Node 20 runs tsx's
// module loader on a thread of its own), so the graph held the loader's thread instead of the
// lesson in some runs (2 of 7). So the profilers run plain `node` on JavaScript compiled from the
// current sources, file by file, with esbuild (tsx's own compiler): one thread, the same code, and
// each frame still named by its file (lib/engine.js, experiments/ex5.js) and function.
//
// The tree goes into the profile's folder (build/): lib/ and experiments/ as .js, a package.json that
// makes them ES modules, and node_modules linked to the project's. The lesson's data stays where it
// would be (WORKBOOK_DATA_DIR is set to the project's data/ unless given).
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { dataDir, PROJECT_ROOT } from '../lib/config.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Compiles lib/ and experiments/ into `<dir>/build`; returns the compiled experiment and the environment to run it with. */
export async function buildForProfile(experiment: string, dir: string): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const esbuild = await import('esbuild');
  const out = join(dir, 'build');
  await esbuild.build({
    entryPoints: [...tsFiles(join(PROJECT_ROOT, 'lib')), ...tsFiles(join(PROJECT_ROOT, 'experiments'))],
    outdir: out, outbase: PROJECT_ROOT, bundle: false, platform: 'node', format: 'esm', target: 'node20',
    keepNames: true, // step and workflow names come from function names
    logLevel: 'silent',
  });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{ "type": "module", "private": true }\n');
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  const file = join(out, relative(PROJECT_ROOT, experiment).replace(/\.ts$/, '.js'));
  return { file, env: { WORKBOOK_DATA_DIR: dataDir() } };
}
