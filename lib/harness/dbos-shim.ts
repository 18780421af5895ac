// What `import { DBOS } from '@dbos-inc/dbos-sdk'` gets inside a crash-test child (redirect.mjs):
// this workbook's engine under DBOS Transact's names, so the user's workflow module runs
// unchanged. The top-level names are those of @dbos-inc/dbos-sdk 5.3.0. A DBOS member or an
// export the engine does not have throws HarnessUnsupportedError the moment it is touched, naming
// it: a crash test must never pass because a call quietly did nothing.
//
// setConfig, launch and shutdown are the harness's: it picks the database and launches the engine
// itself after importing the module, so the module's own calls (if any) change nothing.
import { DBOS as Engine } from '../dbos.js';
import * as errors from '../errors.js';
import { log } from '../log.js';
import { WORKFLOW_STATUSES } from '../storage/types.js';

let unsupportedSeen: string | undefined;

/** The message of the first unsupported DBOS call in this process (caught by the user's code or not). */
export function firstUnsupported(): string | undefined {
  return unsupportedSeen;
}

/** Thrown when the user's code reaches a part of DBOS's API that the harness's engine does not have. */
export class HarnessUnsupportedError extends errors.WorkbookError {
  constructor(what: string) {
    super('HARNESS_UNSUPPORTED',
      `${what} is not supported by the durable-workbook crash-test harness: its engine has DBOS.registerWorkflow, registerStep, runStep, ` +
      'startWorkflow, registerQueue, setEvent/getEvent, send/recv, sleep, workflowID, stepStatus, getWorkflowStatus and listWorkflows, not this. ' +
      'Crash-test a workflow that does without it, or test it on DBOS Transact itself.');
    this.name = 'HarnessUnsupportedError';
    unsupportedSeen ??= this.message;
  }
}

const logger = {
  debug: (...a: unknown[]) => log.debug(a.map(String).join(' ')),
  info: (...a: unknown[]) => log.info(a.map(String).join(' ')),
  warn: (...a: unknown[]) => log.warn(a.map(String).join(' ')),
  error: (...a: unknown[]) => log.warn(a.map(String).join(' ')),
};

const ownedByHarness: Record<string, unknown> = {
  setConfig: (_config: unknown) => undefined,
  launch: async () => undefined,
  shutdown: async () => undefined,
  logger,
};

// Names every object has, or that tools probe (await, console.log, vitest): never "unsupported".
const PROBES = new Set(['then', 'toJSON', 'constructor', 'prototype', 'name', 'length', 'call', 'apply', 'bind', 'toString', 'valueOf']);

function guarded<T extends object>(target: T, label: string, own: Record<string, unknown> = {}): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'symbol' || PROBES.has(prop)) return Reflect.get(t, prop, receiver);
      if (Object.hasOwn(own, prop)) return own[prop];
      if (prop in t) return Reflect.get(t, prop, t);
      throw new HarnessUnsupportedError(`${label}.${prop}`);
    },
  });
}

/** A top-level export of the SDK that the engine has no counterpart for: using it throws. */
function unsupportedClass(name: string): new (...a: unknown[]) => object {
  const C = class {
    constructor() {
      throw new HarnessUnsupportedError(name);
    }
  };
  Object.defineProperty(C, 'name', { value: name });
  return guarded(C, name);
}

export const DBOS = guarded(Engine, 'DBOS', ownedByHarness);
export const StatusString = Object.freeze(Object.fromEntries(WORKFLOW_STATUSES.map((s) => [s, s])));
export const DBOSWorkflowConflictError = errors.DBOSConflictingWorkflowError;
const dbosErrors = guarded({ ...errors } as Record<string, unknown>, 'Error');
export { dbosErrors as Error };
export const ConfiguredInstance = unsupportedClass('ConfiguredInstance');
export const DBOSClient = unsupportedClass('DBOSClient');
export const DBOSStepNondeterminismError = unsupportedClass('DBOSStepNondeterminismError');
export const Debouncer = unsupportedClass('Debouncer');
export const DebouncerClient = unsupportedClass('DebouncerClient');
export const PortableWorkflowError = unsupportedClass('PortableWorkflowError');

export default {
  DBOS, StatusString, DBOSWorkflowConflictError, Error: dbosErrors, ConfiguredInstance, DBOSClient,
  DBOSStepNondeterminismError, Debouncer, DebouncerClient, PortableWorkflowError,
};
