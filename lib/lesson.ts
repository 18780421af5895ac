// What every experiment does around its lesson: configure and launch the engine, run the lesson,
// shut down cleanly, and turn a failure into a clear message and an exit code.
//   exit 0  the lesson finished
//   exit 1  the lesson's workflow failed (in ex2 that is the lesson)
//   exit 2  bad input: configuration, environment, database location (the message says the fix)
// A crash injected by lib/faults.ts ends the process by SIGABRT instead (exit code 134 in a shell).
import { DBOS, type RecoveryReport } from './dbos.js';
import { ConfigError, DatabaseConnectionError, DatabaseUrlError, WorkbookError } from './errors.js';

export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export function isBadInput(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof DatabaseUrlError || err instanceof DatabaseConnectionError;
}

/** Runs `lesson` with the engine launched for application `name`; never leaves the process hanging. */
export async function runLesson(name: string, lesson: (recovery: RecoveryReport) => Promise<number | void>): Promise<void> {
  let code = 0;
  try {
    DBOS.setConfig({ name });
    const recovery = await DBOS.launch();
    code = (await lesson(recovery)) ?? 0;
  } catch (err) {
    code = isBadInput(err) ? EXIT_BAD_INPUT : EXIT_FAILED;
    const msg = err instanceof WorkbookError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`\n${isBadInput(err) ? 'BAD INPUT' : 'FAILED'}: ${msg}\n`);
  } finally {
    await DBOS.shutdown().catch((e) => process.stderr.write(`shutdown: ${(e as Error).message}\n`));
  }
  process.exitCode = code;
}
