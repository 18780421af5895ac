// Choosing crash points by hand, to replay one (--point 1:before): a function id or a step name,
// optionally after or before, optionally of another workflow than the top one (workflowID#1:after).
import { ConfigError } from '../errors.js';
import type { CrashPoint } from './verdict.js';

/** The crash points `wanted` names (all of them when it is empty); a name that matches none is bad input listing the choices. */
export function selectPoints(all: CrashPoint[], wanted: string[] | undefined, topID: string): CrashPoint[] {
  if (!wanted?.length) return all;
  const chosen = new Set<CrashPoint>();
  for (const raw of wanted) {
    const m = /^(?:(.+)#)?([^#:]+?)(?::(after|before|end))?$/.exec(raw.trim());
    const hits = m ? all.filter((p) =>
      p.workflowID === (m[1] ?? topID) && (String(p.functionID) === m[2] || p.name === m[2]) && (!m[3] || p.when === m[3])) : [];
    if (!hits.length) {
      const choices = [...new Set(all.map((p) => `${p.workflowID === topID ? '' : `${p.workflowID}#`}${p.functionID}:${p.when} (${p.name})`))];
      throw new ConfigError(`--point ${raw} names no crash point of this run: choose among ${choices.join(', ')} ` +
        '(a function id or a step name, then :after, :before or :end).');
    }
    for (const h of hits) chosen.add(h);
  }
  return all.filter((p) => chosen.has(p));
}
