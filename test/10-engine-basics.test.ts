import { afterEach, describe, expect, it } from 'vitest';
import { DBOS } from '../lib/index.js';
import { DATABASES, freshDatabase } from './helpers.js';

const calls: string[] = [];
const greet = DBOS.registerStep(async function greet(name: string) {
  calls.push(name);
  return `hello ${name}`;
});
const hello = DBOS.registerWorkflow(async function hello(name: string) {
  return { text: await greet(name), id: DBOS.workflowID };
});

afterEach(() => DBOS.shutdown());

for (const kind of DATABASES) {
  describe(`${kind}: basics`, () => {
    it('runs a workflow of one step and records it', async () => {
      const { choice } = await freshDatabase(kind);
      DBOS.setConfig({ name: 'basics', database: choice });
      await DBOS.launch();
      const handle = await DBOS.startWorkflow(hello, { workflowID: 'w1' })('ada');
      expect(await handle.getResult()).toEqual({ text: 'hello ada', id: 'w1' });
      expect((await handle.getStatus())?.status).toBe('SUCCESS');
      const steps = await DBOS.listWorkflowSteps('w1');
      expect(steps.map((s) => [s.functionID, s.name, s.output])).toEqual([[0, 'greet', 'hello ada']]);
    });
  });
}
