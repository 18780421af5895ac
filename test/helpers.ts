// Shared test helpers: the databases to run on, a fresh database per test, and experiments run as
// real child processes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { DatabaseChoice } from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/config.js';
import { freshDatabase as freshPlace, tempDir as makeTempDir } from '../lib/storage/fresh.js';
import { withDatabase } from '../lib/storage/open.js';

export type DbKind = 'sqlite' | 'postgres';

/** Both databases, unless WORKBOOK_TEST_DB names one. */
export const DATABASES: DbKind[] = (['sqlite', 'postgres'] as const).filter(
  (k) => !process.env.WORKBOOK_TEST_DB || process.env.WORKBOOK_TEST_DB === k,
);

/** A new temporary directory that other users may enter (as root, PostgreSQL runs as "postgres"). */
export const tempDir = (prefix = 'workbook-'): string => makeTempDir(prefix);

/** A local port nobody listens on (it was free a moment ago): a database server that is down. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A database nobody else uses: a new SQLite file, or a new database on the test server (lib/storage/fresh.ts). */
export async function freshDatabase(kind: DbKind): Promise<{ choice: DatabaseChoice; env: Record<string, string> }> {
  // The directory is also the data dir, so an experiment's own files land there too.
  const fresh = await freshPlace(kind, 'test', randomBytes(3).toString('hex'), kind === 'postgres' ? inject('pgAdminUrl') : undefined);
  return { choice: fresh.choice, env: fresh.env };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file (relative to the project root) as a real child process with tsx.
 * `onLine` sees each non-empty stdout/stderr line whole as it arrives (to kill the child at a marker),
 * and an unfinished last line when the child is gone.
 */
export function runScript(
  file: string,
  env: Record<string, string | undefined> = {},
  opts: { args?: string[]; timeoutMs?: number; onLine?: (line: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, file), ...(opts.args ?? [])], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, WORKBOOK_LOG: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    // A line may come split over two chunks: each stream keeps its unfinished last line for the next.
    const partial = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString();
      out[stream] += text;
      if (!opts.onLine) return;
      const lines = (partial[stream] + text).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) if (l) opts.onLine(l, child);
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of [partial.stdout, partial.stderr]) if (l && opts.onLine) opts.onLine(l, child);
      resolve({ code, signal, ...out });
    });
  });
}

/**
 * The JSON after "NAME: " on the first stdout line that starts with it (RESULT, LOOP, TORTURE ...),
 * parsed; an error that shows what the child said when there is no such line.
 */
export function marked<T = unknown>(r: RunResult, name: string): T {
  const m = new RegExp(`^${name}: (.*)$`, 'm').exec(r.stdout);
  if (!m) throw new Error(`no ${name} line (exit ${r.code}, signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return JSON.parse(m[1]) as T;
}

/** The value printed after "RESULT: " (the lessons' marker), parsed as JSON. */
export const resultOf = (r: RunResult): unknown => marked(r, 'RESULT');

/** What scripts/loop.ts prints after "LOOP: ". */
export interface LoopSummary { runs: number; crashed: number; failed: number; succeeded: boolean; ends: string[] }

/**
 * One query straight on a child's database, not through the engine: the lesson's own tables by
 * their plain names (its schema is on the search path on PostgreSQL; the same file on SQLite), `?`
 * placeholders on both. Numbers come back as numbers.
 */
export async function queryDatabase(choice: DatabaseChoice, app: string, sql: string, params: unknown[] = []): Promise<Record<string, number>[]> {
  const rows = await withDatabase(choice, app, 'test-query', (db) => db.app.query(sql, params));
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
}
