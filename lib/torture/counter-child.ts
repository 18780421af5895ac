// One process of the crash torture's "counter" workload, started (again and again) by
// scripts/torture.ts until it prints RESULT. It may die at any point: by its own process.abort()
// at a seeded site (lib/faults.ts), or by a SIGKILL the torture script sends after a seeded delay
// counted from the STARTED line.
//
//   env: WORKBOOK_SEED, WORKBOOK_P_TORTURE_* (crash probabilities), the database (lib/config.ts),
//        TORTURE_COUNTER_FILE (the side-effect counter), TORTURE_WORKFLOW_ID
//   stdout: STARTED, RECOVERED: <n>, RESULT: <json>
import { DBOS } from '../dbos.js';
import { parseSeed } from '../faults.js';
import { runLesson } from '../lesson.js';
import { configureWorkload, tortureCounter } from './workload.js';

process.stdout.write('STARTED\n');
// Before launch: launch() resumes the PENDING workflows at once, and they must find their faults armed.
configureWorkload({ counterFile: process.env.TORTURE_COUNTER_FILE!, faults: true });
const seed = parseSeed();

await runLesson('torture', async () => {
  console.log(`RECOVERED: ${DBOS.lastRecovery().recovered.length}`);
  // Idempotent start (promise 1): after a death the id exists and this attaches to it.
  const handle = await DBOS.startWorkflow(tortureCounter, { workflowID: process.env.TORTURE_WORKFLOW_ID! })(seed);
  console.log(`RESULT: ${JSON.stringify(await handle.getResult())}`);
});
