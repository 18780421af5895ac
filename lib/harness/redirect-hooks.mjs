// Node module resolution hooks (node:module register(), see redirect.mjs): '@dbos-inc/dbos-sdk'
// resolves to the harness's stand-in; a deep import of the SDK fails at once, naming itself.
const SDK = '@dbos-inc/dbos-sdk';
let shim = '';

export function initialize(data) {
  shim = data.shim;
}

export async function resolve(specifier, context, nextResolve) {
  // Through the next resolver (tsx's), which marks the TypeScript file for its loader.
  if (specifier === SDK) return nextResolve(shim, context);
  if (specifier.startsWith(`${SDK}/`)) {
    throw new Error(`import "${specifier}" is not supported by the durable-workbook crash-test harness: ` +
      `it stands in for "${SDK}" itself (DBOS.registerWorkflow, registerStep, runStep, queues, events, messages, sleep), not for its subpaths.`);
  }
  return nextResolve(specifier, context);
}
