// Loaded with `node --import` in every child of the crash-test harness (after tsx): from here on,
// `import ... from '@dbos-inc/dbos-sdk'` in the user's code gets dbos-shim.ts, this engine under
// DBOS's names, instead of DBOS Transact. Only the harness's own child processes load this file.
import { register } from 'node:module';

register('./redirect-hooks.mjs', import.meta.url, {
  data: { shim: new URL('./dbos-shim.ts', import.meta.url).href },
});
