// Starts one harness child (child.ts) as a real process, with tsx so that the user's module may be
// TypeScript, and collects its JSON events from file descriptor 3. The child's own stdout and
// stderr are kept (the tail is shown when something goes wrong), never parsed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ENV, type ChildEvent, type ChildMode, type CrashWhen } from './protocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
// Loaded after tsx: '@dbos-inc/dbos-sdk' in the user's code is this engine inside the child.
const REDIRECT = new URL('./redirect.mjs', import.meta.url).href;
// Resolved from here, so the child finds tsx whatever the current directory is.
const TSX = import.meta.resolve('tsx');

export interface ChildJob {
  mode: ChildMode;
  /** path of the user's module (absolute, or relative to the current directory) */
  modulePath: string;
  /** the export name of the workflow ('' lets the child find the only one) */
  exportName: string;
  /** JSON text of the arguments ('' takes the module's crashTestArgs export, or none) */
  argsJson: string;
  app: string;
  workflowID: string;
  crash?: { workflowID: string; functionID: number; when: CrashWhen };
  /** export name of the check ('' uses the export "check" when there is one) */
  check: string;
  /** tables whose row counts are compared with the reference run */
  tables: string[];
  /** export name of the setup ('' uses the export "setup" when there is one) */
  setup?: string;
  /** the database: variables such as WORKBOOK_SQLITE_FILE or DATABASE_URL (undefined unsets one) */
  env: Record<string, string | undefined>;
  timeoutMs: number;
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: ChildEvent[];
  /** the child's stdout and stderr, interleaved as they came */
  output: string;
  timedOut: boolean;
}

export function runChild(job: ChildJob): Promise<ChildRun> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    WORKBOOK_LOG: process.env.WORKBOOK_LOG ?? 'warn',
    ...job.env,
    [ENV.mode]: job.mode,
    [ENV.module]: job.modulePath,
    [ENV.exportName]: job.exportName,
    [ENV.args]: job.argsJson,
    [ENV.app]: job.app,
    [ENV.workflowID]: job.workflowID,
    [ENV.crashWorkflowID]: job.crash?.workflowID ?? '',
    [ENV.crashFunctionID]: job.crash ? String(job.crash.functionID) : '',
    [ENV.crashWhen]: job.crash?.when ?? '',
    [ENV.check]: job.check,
    [ENV.tables]: job.tables.join(','),
    [ENV.setup]: job.setup ?? '',
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, '--import', REDIRECT, CHILD], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const events: ChildEvent[] = [];
    let output = '';
    let partial = '';
    let timedOut = false;
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as ChildEvent);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, job.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, events, output, timedOut });
    });
  });
}

/** The first event of a kind, typed. */
export function eventOf<K extends ChildEvent['event']>(run: ChildRun, kind: K): Extract<ChildEvent, { event: K }> | undefined {
  return run.events.find((e) => e.event === kind) as Extract<ChildEvent, { event: K }> | undefined;
}

export function eventsOf<K extends ChildEvent['event']>(run: ChildRun, kind: K): Extract<ChildEvent, { event: K }>[] {
  return run.events.filter((e) => e.event === kind) as Extract<ChildEvent, { event: K }>[];
}

/** The last lines of a child's output, to show with a failure. */
export function tail(run: ChildRun, lines = 12): string {
  const all = run.output.trimEnd().split('\n');
  return all.slice(-lines).map((l) => `      | ${l}`).join('\n');
}

/** How a child ended, in words. */
export function howItEnded(run: ChildRun): string {
  if (run.timedOut) return 'it did not finish in time and was killed';
  if (run.signal) return `it died by ${run.signal}`;
  return `it exited with code ${run.code}`;
}
