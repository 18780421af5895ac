// A torture run starts its workload process hundreds of times, and `node --import tsx` spends
// ~0.5 s of each start compiling TypeScript. So the torture bundles the workload once, from the
// current sources, with esbuild (already installed: tsx runs on it), and starts plain `node` on
// the bundle: the same code, started 2-3x faster. Packages stay outside the bundle and resolve from
// node_modules, which is why the bundle lives under node_modules/.cache. Without esbuild the
// TypeScript file is run with tsx as before.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config.js';

export interface Bundled {
  /** the file runChild should start: the bundle (.mjs), or the TypeScript entry as given */
  file: string;
  dispose(): void;
}

export async function bundleForSpeed(entry: string): Promise<Bundled> {
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'workbook-torture');
  // One file per torture process: two tortures at once (a test and a long run) must not share it.
  const outfile = join(dir, `${entry.replace(/[^a-z0-9]+/gi, '-')}-${process.pid}.mjs`);
  try {
    const esbuild = await import('esbuild');
    mkdirSync(dir, { recursive: true });
    await esbuild.build({
      entryPoints: [join(PROJECT_ROOT, entry)], outfile, bundle: true, platform: 'node', format: 'esm',
      target: 'node20', packages: 'external', logLevel: 'silent',
      keepNames: true, // step and workflow names come from function names: a renamed one would be another step
    });
    return { file: outfile, dispose: () => rmSync(outfile, { force: true }) };
  } catch {
    return { file: entry, dispose: () => {} };
  }
}
