// One child process of the crash-test harness (started by lib/harness/spawn.ts, never by hand).
// It imports the user's module, finds the registered workflow by its export name, and either
//   run:     starts it with a fixed workflow id, dying by process.abort() at the crash point if one
//            is set (right before or right after that step's outcome is recorded), or
//   recover: reads what the dead process left recorded, then DBOS.launch(), which recovers it.
// Either way it reports each step execution, the outcome, the user's check and what is recorded,
// as JSON lines on file descriptor 3 (see protocol.ts).
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { databaseFromEnv } from '../config.js';
import { DBOS, isRegisteredWorkflow } from '../dbos.js';
import { hooks } from '../engine.js';
import { crashNow } from '../faults.js';
import { deserializeError } from '../serialize.js';
import { state } from '../state.js';
import { isTransactionRecordHook } from '../transactions/index.js';
import { withDatabase } from '../storage/open.js';
import { openAppClient, type AppClient } from './app-database.js';
import { firstUnsupported } from './dbos-shim.js';
import type { HarnessDb } from './databases.js';
import type { SystemDatabase } from '../storage/types.js';
import { ENV, type CheckContext, type ChildEvent, type CrashWhen, type Outcome, type RecordedState } from './protocol.js';

function send(e: ChildEvent): void {
  // Synchronous, so the line is out before an abort; without fd 3 (run by hand) it goes to stderr.
  const line = JSON.stringify(e) + '\n';
  try {
    writeSync(3, line);
  } catch {
    writeSync(2, `[harness] ${line}`);
  }
}

class BadInput extends Error {}

const env = (name: string): string => process.env[name] ?? '';

type Module = Record<string, unknown>;

async function importModule(path: string): Promise<Module> {
  if (!path) throw new BadInput(`${ENV.module} is not set: this file is started by the crash-test harness (lib/harness), not by hand.`);
  try {
    return (await import(pathToFileURL(resolve(path)).href)) as Module;
  } catch (err) {
    throw new BadInput(`cannot import ${path}: ${(err as Error).message}. Check the path (relative to the current directory) and that the module loads on its own.`);
  }
}

function findWorkflow(mod: Module, path: string, exportName: string) {
  // The function registerWorkflow returned, not the plain function it wraps (which has the same name).
  const workflows = Object.entries(mod).filter(([, v]) => isRegisteredWorkflow(v)).map(([k]) => k);
  const registered = [...state.workflows.keys()];
  const hint = registered.length
    ? `Workflow exports of ${path}: ${workflows.join(', ') || 'none'}.`
    : `No workflow is registered at all: does ${path} call DBOS.registerWorkflow, with DBOS imported from '@dbos-inc/dbos-sdk' (or this workbook's lib/index.js), as an ES module (a .ts file under "type": "module", or .mts)?`;
  if (exportName) {
    const v = mod[exportName];
    if (v === undefined) throw new BadInput(`${path} has no export named "${exportName}". ${hint}`);
    if (!isRegisteredWorkflow(v)) throw new BadInput(`the export "${exportName}" of ${path} is not a registered workflow: export the function DBOS.registerWorkflow returned. ${hint}`);
    return v;
  }
  if (workflows.length !== 1) {
    throw new BadInput(`${path} exports ${workflows.length} registered workflows (${workflows.join(', ') || 'none'}): name the one to test (the workflowName argument). ${hint}`);
  }
  return mod[workflows[0]] as (...a: unknown[]) => Promise<unknown>;
}

function parseArgs(mod: Module): unknown[] {
  const raw = env(ENV.args);
  if (raw === '') return Array.isArray(mod.crashTestArgs) ? mod.crashTestArgs : [];
  try {
    const v = JSON.parse(raw);
    return Array.isArray(v) ? v : [v];
  } catch (err) {
    throw new BadInput(`the workflow arguments are not JSON (${(err as Error).message}): give a JSON array, e.g. --args '["order-1", 2]'.`);
  }
}

/** Every workflow in the (fresh) database and its recorded outcomes. */
async function readState(sys: SystemDatabase): Promise<RecordedState> {
  const out: RecordedState = {};
  for (const w of await sys.listWorkflows({})) {
    const ops = await sys.loadOperations(w.workflowID);
    out[w.workflowID] = {
      name: w.name, status: w.status,
      ops: ops.map((o) => ({ functionID: o.functionID, name: o.functionName, childWorkflowID: o.childWorkflowID, error: o.error === null ? null : deserializeError(o.error).message })),
    };
  }
  return out;
}

async function outcomeOf(workflowID: string): Promise<{ outcome: Outcome; result: unknown }> {
  let result: unknown;
  try {
    result = await DBOS.retrieveWorkflow(workflowID).getResult();
  } catch {
    // The error is recorded with the workflow: read from there, as the reference run did.
  }
  const row = await DBOS.getWorkflowStatus(workflowID);
  const error = row?.error instanceof Error ? row.error.message : null;
  return { outcome: { status: row?.status ?? 'MISSING', output: row?.output === undefined ? null : JSON.stringify(row.output), error }, result };
}

/** The user's check (thrown errors and returned strings are problems) and the row count of each named table. */
async function runCheck(mod: Module, ctx: CheckContext): Promise<ChildEvent> {
  const problems: string[] = [];
  const name = env(ENV.check) || 'check';
  const check = mod[name];
  if (check !== undefined && typeof check !== 'function') problems.push(`the export "${name}" is not a function, so it cannot be the check`);
  if (typeof check === 'function') {
    try {
      const said = await check(ctx);
      if (typeof said === 'string' && said) problems.push(said);
      if (Array.isArray(said)) problems.push(...said.map(String));
    } catch (err) {
      problems.push((err as Error).message ?? String(err));
    }
  } else if (check === undefined && env(ENV.check)) {
    problems.push(`the module has no export named "${name}" to use as the check`);
  }
  const tableCounts: Record<string, number> = {};
  for (const t of env(ENV.tables).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) {
      problems.push(`"${t}" is not a table name (letters, digits and _)`);
      continue;
    }
    try {
      const rows = await DBOS.appDatabase.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${t}`);
      tableCounts[t] = Number(rows[0]?.n ?? 0);
    } catch (err) {
      problems.push(`cannot count the rows of table ${t}: ${(err as Error).message}`);
    }
  }
  return { event: 'check', problems, tableCounts };
}

function installHooks(): void {
  hooks.beforeStep = (workflowID, functionID, name, attempt) => send({ event: 'step', workflowID, functionID, name, attempt });
  const crashWF = env(ENV.crashWorkflowID);
  if (!crashWF) return;
  const k = Number(env(ENV.crashFunctionID));
  const when = env(ENV.crashWhen) as CrashWhen;
  const die = (workflowID: string, functionID: number, name: string) => {
    if (workflowID !== crashWF || functionID !== k) return;
    send({ event: 'crashing', workflowID, functionID, name, when, transaction: isTransactionRecordHook() });
    crashNow();
  };
  if (when === 'after') hooks.afterRecord = die;
  else if (when === 'before') hooks.beforeRecord = die;
  else hooks.beforeEnd = (workflowID) => die(workflowID, k, ''); // the end of workflow crashWF: its last step is k
}

/** The module's setup (default: its export "setup", when it has one), on the fresh application database. */
async function runSetup(mod: Module, app: AppClient): Promise<void> {
  const name = env(ENV.setup) || 'setup';
  const setup = mod[name];
  if (setup === undefined && !env(ENV.setup)) return;
  if (typeof setup !== 'function') throw new BadInput(`the module has no function export named "${name}" to use as the setup (--setup).`);
  try {
    await setup({ app });
  } catch (err) {
    throw new BadInput(`the setup export "${name}" failed on a fresh database (${app.kind}): ${(err as Error).message}. It must create the application's tables from nothing.`);
  }
}

async function main(): Promise<void> {
  const path = env(ENV.module);
  const mod = await importModule(path);
  const workflow = findWorkflow(mod, path, env(ENV.exportName));
  const args = parseArgs(mod);
  const app = env(ENV.app) || 'crashtest';
  const workflowID = env(ENV.workflowID) || 'crash-test';
  DBOS.setConfig({ name: app });
  const appClient = await openAppClient((env(ENV.appKind) || 'sqlite') as HarnessDb, env(ENV.appUrl));
  closeApp = () => appClient.close();
  if (env(ENV.mode) === 'recover') {
    // Read the dead process's records before anything can run again: these steps must not re-run.
    await withDatabase(databaseFromEnv(app), app, `workbook-harness-${process.pid}`, async (db) => {
      send({ event: 'recorded-at-death', state: await readState(db) });
    });
    installHooks();
    await DBOS.launch();
    await Promise.allSettled(DBOS.lastRecovery().recovered.map((h) => h.getResult()));
  } else {
    await runSetup(mod, appClient);
    installHooks();
    await DBOS.launch();
    await DBOS.startWorkflow(workflow, { workflowID })(...args);
  }
  const { outcome, result } = await outcomeOf(workflowID);
  // A DBOS call the engine lacks fails the workflow: that is the user's input, not a reference to compare against.
  const unsupported = firstUnsupported();
  if (unsupported) throw new BadInput(unsupported);
  send({ event: 'outcome', outcome });
  send(await runCheck(mod, { db: DBOS.appDatabase, app: appClient, workflowID, args, result, status: outcome.status }));
  send({ event: 'recorded', state: await readState(state.db!) });
}

let closeApp = async (): Promise<void> => {};
try {
  await main();
} catch (err) {
  if (err instanceof BadInput) send({ event: 'bad-input', message: err.message });
  else process.stderr.write(`crash-test child: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = err instanceof BadInput ? 2 : 1;
} finally {
  await DBOS.shutdown().catch(() => undefined);
  await closeApp().catch(() => undefined);
}
// The application's own clients (a pg Pool's idle connections) must not keep this process alive.
process.exit();
