// Application versions (docs/DESIGN.md promise 11, lib/versions/): a process recovers and dequeues
// only its own version's workflows; launch() says once what it left alone; a resume with a target
// version moves a stranded workflow here; `wf versions` tells stranded work apart; the default
// version is a hash of the workflows' code, the same in every process running the same code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DBOS, DBOSClient } from '../lib/index.js';
import { serialize } from '../lib/serialize.js';
import type { AnyFn, WorkflowRegistration } from '../lib/state.js';
import { withDatabase } from '../lib/storage/open.js';
import { chooseAppVersion, computeAppVersion, ENGINE_VERSION } from '../lib/versions/version.js';
import { wf } from '../scripts/wf.js';
import { DATABASES, freshDatabase, runScript } from './helpers.js';
import { PROJECT_ROOT } from '../lib/config.js';

const versionedJob = DBOS.registerWorkflow(async function versionedJob(x: number) {
  return x * 2;
});
void versionedJob;
DBOS.registerQueue('v68', { minPollingIntervalMs: 50 });

afterEach(async () => {
  vi.restoreAllMocks();
  await DBOS.shutdown();
});

async function wfSays(env: Record<string, string>, args: string[]): Promise<string> {
  const out: string[] = [];
  const code = await wf([...args, '--app', 'v68'], env, (t) => out.push(t), (t) => out.push(t));
  expect(code, out.join('\n')).toBe(0);
  return out.join('\n');
}

describe.each(DATABASES)('%s', (kind) => {
  it('a worker dequeues its own version and unversioned work (stamped with its own); another version waits, STRANDED, until moved', async () => {
    const { choice, env } = await freshDatabase(kind);
    DBOS.setConfig({ name: 'v68', database: choice, applicationVersion: 'A', recoveryIntervalMs: 0 });
    await DBOS.launch();
    const client = await DBOSClient.create({ database: choice, applicationName: 'v68' });
    try {
      await client.enqueue({ queueName: 'v68', workflowName: 'versionedJob', workflowID: 'theirs', appVersion: 'B' }, 3);
      await client.enqueue({ queueName: 'v68', workflowName: 'versionedJob', workflowID: 'mine', appVersion: 'A' }, 1);
      await client.enqueue({ queueName: 'v68', workflowName: 'versionedJob', workflowID: 'anyone' }, 2);
      expect([await client.retrieveWorkflow('mine').getResult(), await client.retrieveWorkflow('anyone').getResult()]).toEqual([2, 4]);
      expect((await DBOS.getWorkflowStatus('anyone'))?.applicationVersion).toBe('A');
      await sleep(500); // ten polls of the queue
      expect((await DBOS.getWorkflowStatus('theirs'))?.status).toBe('ENQUEUED');
      const said = await wfSays(env, ['versions']);
      expect(said).toMatch(/STRANDED: 1 unfinished workflow\(s\) of version B \(0 PENDING, 1 ENQUEUED; theirs\) and no live executor serves that version \(live executors serve: A\)/);
      expect(said).not.toMatch(/STRANDED[^\n]*version A /);
      expect(await wfSays(env, ['list'])).toMatch(/theirs .*ENQUEUED .*B /);
      await DBOS.resumeWorkflow('theirs', { applicationVersion: 'A' }); // moved here on purpose
      expect(await client.retrieveWorkflow('theirs').getResult()).toBe(6);
      expect(await wfSays(env, ['versions'])).not.toMatch(/STRANDED/);
    } finally {
      await client.destroy();
    }
  }, 60_000);

  it('recovery leaves a dead owner\'s workflow of another version PENDING, says so once at launch, and runs it once resumed with a target version', async () => {
    const { choice, env } = await freshDatabase(kind);
    await withDatabase(choice, 'v68', 'v68-setup', async (setup) => {
      await setup.upsertExecutor({ executorID: 'gone', hostname: hostname(), pid: 2 ** 22 + 1, heartbeatAt: Date.now() });
      await setup.insertWorkflow({ workflowID: 'old', name: 'versionedJob', inputs: serialize([5], 'inputs'), executorID: 'gone', applicationID: 'v68',
        applicationVersion: 'B', parentWorkflowID: null, now: Date.now() });
    });
    const said: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => (said.push(String(t)), true));
    DBOS.setConfig({ name: 'v68', database: choice, applicationVersion: 'A', recoveryIntervalMs: 100 });
    await DBOS.launch();
    expect(DBOS.lastRecovery().recovered).toEqual([]);
    expect(DBOS.lastRecovery().otherVersions).toEqual([{ workflowID: 'old', applicationVersion: 'B' }]);
    await sleep(400); // background passes: they leave it too, and say nothing more
    await DBOS.resumeWorkflow('old'); // no target: left to its version
    const left = said.filter((l) => l.includes('launch() left alone'));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/left alone 1 unfinished workflow\(s\) of other application versions \(1 of version B\); this process serves application version A \(from applicationVersion in DBOS.setConfig\)/);
    expect(said.join('')).toMatch(/No workflows to recover from application version A/);
    expect(said.join('')).toMatch(/workflow old is of application version B; this process serves A: it is left to a process of its version/);
    vi.restoreAllMocks();
    const row = await DBOS.getWorkflowStatus('old');
    expect([row?.status, row?.applicationVersion, row?.executorId]).toEqual(['PENDING', 'B', 'gone']);
    expect(await wfSays(env, ['versions'])).toMatch(/STRANDED: 1 unfinished workflow\(s\) of version B \(1 PENDING, 0 ENQUEUED; old\)/);
    const h = await DBOS.resumeWorkflow<number>('old', { applicationVersion: DBOS.applicationVersion });
    expect(await h.getResult()).toBe(10);
    const done = await DBOS.getWorkflowStatus('old');
    expect([done?.status, done?.applicationVersion, done?.executorId]).toEqual(['SUCCESS', 'A', DBOS.executorID]);
  }, 60_000);
});

describe('the default version', () => {
  const reg = (name: string, fn: AnyFn): WorkflowRegistration => ({ name, fn, maxRecoveryAttempts: 100 });
  const a1 = reg('a', async function a(x: number) { return x + 1; });
  const a1Again = reg('a', async function a(x: number) { return x + 1; });
  const a2 = reg('a', async function a(x: number) { return x + 2; });
  const b = reg('b', async function b() { return 0; });

  it('is a hash of the workflows\' code by name, plus the engine and the app: the same code gives the same version, an edit another', () => {
    const v = computeAppVersion([a1, b], 'app');
    expect(v).toMatch(/^[0-9a-f]{32}$/);
    expect(computeAppVersion([b, a1Again], 'app')).toBe(v); // same text, any registration order
    expect(computeAppVersion([a2, b], 'app')).not.toBe(v); // one workflow's code edited
    expect(computeAppVersion([a1], 'app')).not.toBe(v); // one workflow fewer
    expect(computeAppVersion([a1, b], 'other')).not.toBe(v);
    expect(ENGINE_VERSION).toBe((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(chooseAppVersion(undefined, { DBOS__APPVERSION: 'r7' }, [a1], 'app')).toEqual({ version: 'r7', source: 'DBOS__APPVERSION' });
    expect(chooseAppVersion('cfg', { DBOS__APPVERSION: 'r7' }, [a1], 'app')).toEqual({ version: 'cfg', source: 'config' }); // as DBOS: the config wins
    expect(chooseAppVersion(undefined, {}, [a1], 'app')).toEqual({ version: computeAppVersion([a1], 'app'), source: 'hash' });
    expect(() => chooseAppVersion('has space', {}, [], 'app')).toThrow(/is not an application version/);
  });

  it('is the same in separate processes running the same code, and differs for the edited code (ex8\'s variants)', async () => {
    const { env } = await freshDatabase(DATABASES[0]);
    const child = (variant: string) => runScript('experiments/ex8.ts', { ...env, DBOS__APPVERSION: undefined }, { args: ['--child', variant, 'recover'], timeoutMs: 60_000 });
    const runs = await Promise.all([child('original'), child('original'), child('appended')]);
    const versions = runs.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return /READY .* version=([0-9a-f]{32}) \(hash\)/.exec(r.stdout)?.[1];
    });
    expect(versions[0]).toBeDefined();
    expect(versions[1]).toBe(versions[0]);
    expect(versions[2]).not.toBe(versions[0]);
  }, 90_000);
});
