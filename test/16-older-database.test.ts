// A database written by the workbook before migration 3 (inputs, output and error as plain JSON in
// workflow_status) still opens: the migration moves the values into workflow_input and
// workflow_output, a finished workflow reads as before, and a PENDING one is recovered from its
// plain-JSON checkpoints and finishes, its new values in SuperJSON.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { DBOS } from '../lib/index.js';
import { MIGRATIONS, renderStatements } from '../lib/storage/schema.js';
import { freshDatabase } from './helpers.js';

const addOne = DBOS.registerStep(async function addOne(n: number) {
  return n + 1;
});
const older = DBOS.registerWorkflow(async function older(n: number) {
  const a = await addOne(n);
  return { a, b: await addOne(a) };
});

describe('sqlite: a database from before migration 3', () => {
  it('opens, keeps its values, and recovers its PENDING workflow from plain-JSON checkpoints', async () => {
    const { choice } = await freshDatabase('sqlite');
    if (choice.kind !== 'sqlite') throw new Error('sqlite expected');
    // The file as the workbook left it at version 2.
    const raw = new Database(choice.file);
    raw.exec('CREATE TABLE workbook_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      for (const sql of renderStatements(m, '', 'sqlite')) raw.exec(sql);
      raw.prepare('INSERT INTO workbook_migrations VALUES (?, 0)').run(m.version);
    }
    const row = raw.prepare(`INSERT INTO workflow_status (workflow_uuid, status, name, inputs, output, error, executor_id, application_id,
      application_version, recovery_attempts, created_at, updated_at) VALUES (?, ?, 'older', ?, ?, NULL, 'gone', 'olddb', '1', 1, 1, 1)`);
    row.run('done', 'SUCCESS', '[1]', '{"a":2,"b":3}');
    row.run('pending', 'PENDING', '[10]', null);
    raw.prepare(`INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms, completed_at_epoch_ms)
      VALUES ('pending', 0, 'addOne', '11', 1, 1)`).run();
    raw.close();

    DBOS.setConfig({ name: 'olddb', database: choice });
    await DBOS.launch();
    try {
      expect(await DBOS.getWorkflowStatus('done')).toMatchObject({ status: 'SUCCESS', input: [1], output: { a: 2, b: 3 } });
      expect(DBOS.lastRecovery().recovered.map((h) => h.workflowID)).toEqual(['pending']);
      expect(await DBOS.retrieveWorkflow('pending').getResult()).toEqual({ a: 11, b: 12 });
      const app = DBOS.appDatabase;
      const moved = await app.query<{ workflow_uuid: string; inputs: string }>('SELECT workflow_uuid, inputs FROM workflow_input ORDER BY workflow_uuid');
      expect(moved).toEqual([{ workflow_uuid: 'done', inputs: '[1]' }, { workflow_uuid: 'pending', inputs: '[10]' }]);
      const [out] = await app.query<{ output: string }>(`SELECT output FROM workflow_output WHERE workflow_uuid = 'pending'`);
      expect(JSON.parse(out.output)).toEqual({ json: { a: 11, b: 12 }, __dbos_serializer: 'superjson' });
      expect(await app.query('SELECT inputs, output FROM workflow_status')).toEqual([{ inputs: null, output: null }, { inputs: null, output: null }]);
    } finally {
      await DBOS.shutdown();
    }
  });
});
