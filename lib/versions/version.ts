// Application versions, as DBOS Transact computes them (dbos-transact-ts src/dbos-executor.ts
// computeAppVersion): `applicationVersion` in DBOS.setConfig wins, then DBOS__APPVERSION from the
// environment; otherwise an MD5 hash of the registered workflows' source text plus the engine's
// version (and, as DBOS 5.3 does, the application's name). So editing any workflow's code changes
// the version, and the same code gives the same version in every process (docs/DESIGN.md promise 11).
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { WorkflowRegistration } from '../state.js';

/**
 * The workbook's own version, package.json's: a new engine is a new application version, as in DBOS.
 * A constant, not a read of package.json at run time: the torture and the profiler run the engine
 * from an esbuild bundle in another directory, where no relative path finds package.json, and every
 * process must compute the same version. test/68 checks that it equals package.json's version.
 */
export const ENGINE_VERSION = '0.1.0';

/**
 * The default version: MD5 over each registered workflow's function text, in the order of the
 * workflows' names, then the engine's version and the application's name. Deterministic: no pid,
 * no time, no path, so every process running the same code computes the same one.
 */
export function computeAppVersion(workflows: Iterable<WorkflowRegistration>, appName: string): string {
  const hash = createHash('md5');
  const sorted = [...workflows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const w of sorted) hash.update(w.name).update('\0').update(w.fn.toString()).update('\0');
  hash.update(ENGINE_VERSION).update('\0').update(appName);
  return hash.digest('hex');
}

/** Where this process's version came from, for the launch log and `wf versions`. */
export type VersionSource = 'config' | 'DBOS__APPVERSION' | 'hash';

/** The version this process serves: config first, then DBOS__APPVERSION, else the hash (as DBOS's launch). */
export function chooseAppVersion(configured: string | undefined, env: NodeJS.ProcessEnv, workflows: Iterable<WorkflowRegistration>, appName: string): { version: string; source: VersionSource } {
  if (configured !== undefined) return { version: checkVersion(configured, 'applicationVersion in DBOS.setConfig'), source: 'config' };
  const fromEnv = env.DBOS__APPVERSION;
  if (fromEnv) return { version: checkVersion(fromEnv, 'DBOS__APPVERSION'), source: 'DBOS__APPVERSION' };
  return { version: computeAppVersion(workflows, appName), source: 'hash' };
}

/** A version is a short printable name: it is stored with every workflow and shown by `wf`. */
export function checkVersion(v: unknown, where: string): string {
  if (typeof v !== 'string' || !/^[\w.:+@-]{1,100}$/.test(v))
    throw new ConfigError(`${where} ${JSON.stringify(v)} is not an application version: give 1 to 100 letters, digits or . _ - : + @ (e.g. "2026-06-01" or "v42"), or leave it out for the hash of the workflows' code.`);
  return v;
}
