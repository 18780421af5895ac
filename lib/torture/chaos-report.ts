// npm run torture -- --chaos: the chaos runs on each database, their table, every violation with its
// seed and the fault schedule that led to it, and a last line `TORTURE: <json>` (as the crash torture).
import Table from 'cli-table3';
import type { FreshKind } from '../storage/fresh.js';
import { postgresTarget, runChaosSeed, sqliteTarget, type ChaosOptions, type ChaosStats, type ChaosTarget } from './chaos.js';

export interface ChaosTotals {
  runs: number;
  workflows: number;
  faults: Record<string, number>;
  success: number;
  error: number;
  unfinished: number;
  other: number;
  crashed: number;
  callerErrors: number;
  violations: number;
}

function total(list: ChaosStats[]): ChaosTotals {
  const t: ChaosTotals = { runs: 0, workflows: 0, faults: {}, success: 0, error: 0, unfinished: 0, other: 0, crashed: 0, callerErrors: 0, violations: 0 };
  for (const s of list) {
    t.runs++;
    for (const k of ['workflows', 'success', 'error', 'unfinished', 'other', 'crashed', 'callerErrors'] as const) t[k] += s[k];
    t.violations += s.violations.length;
    for (const [f, n] of Object.entries(s.faults)) t.faults[f] = (t.faults[f] ?? 0) + n;
  }
  return t;
}

export async function chaosTorture(args: { runs: number; seedFrom: number; dbs: FreshKind[]; opts: ChaosOptions }): Promise<number> {
  const { opts } = args;
  console.log(`torture --chaos: seeds ${args.seedFrom}..${args.seedFrom + args.runs - 1} on ${args.dbs.join(' and ')}; ` +
    `${opts.workflows} workflows of ${opts.steps} steps in ${opts.workers} worker processes per run`);
  const started = Date.now();
  const results: (ChaosStats & { kept?: string })[] = [];
  for (const kind of args.dbs) {
    const target: ChaosTarget = kind === 'postgres' ? await postgresTarget() : sqliteTarget();
    // Ctrl-C leaves no server running and no tmpfs mounted (the workers die with the terminal's signal).
    // (tsx passes the terminal's SIGINT on as well: a second one must not cut the clean-up short.)
    let closing: Promise<void> | undefined;
    const interrupted = (signal: NodeJS.Signals) => void (closing ??= target.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
    process.on('SIGINT', interrupted).on('SIGTERM', interrupted);
    try {
      for (let seed = args.seedFrom; seed < args.seedFrom + args.runs; seed++) {
        const s = await runChaosSeed(target, seed, opts);
        results.push(s);
        process.stderr.write(`chaos ${kind} seed ${seed}: ${s.success}/${s.workflows} SUCCESS, ${s.violations.length} violation(s)\n`);
      }
    } finally {
      process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
      await target.close();
    }
  }
  const table = new Table({ style: { head: [], border: [] }, head: ['database', 'runs', 'workflows', 'faults injected', 'SUCCESS', 'ERROR', 'left PENDING', 'other', 'processes crashed', 'caller errors retried', 'invariant violations'] });
  const summary: Record<string, ChaosTotals> = {};
  for (const db of args.dbs) {
    const t = (summary[db] = total(results.filter((r) => r.db === db)));
    const faults = Object.entries(t.faults).map(([f, n]) => `${f} ${n}`).join(', ');
    table.push([db, t.runs, t.workflows, faults, t.success, t.error, t.unfinished, t.other, t.crashed, t.callerErrors, t.violations]);
  }
  console.log(table.toString());
  console.log(`${results.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const n of new Set(results.flatMap((r) => r.notes))) console.log(`note: ${n}`);
  for (const db of args.dbs) {
    const kinds = new Map<string, number>();
    for (const r of results.filter((x) => x.db === db)) for (const [k, n] of Object.entries(r.callerErrorKinds)) kinds.set(k, (kinds.get(k) ?? 0) + n);
    for (const [k, n] of [...kinds].sort((x, y) => y[1] - x[1]).slice(0, 6)) console.log(`caller error on ${db} (x${n}): ${k}`);
  }
  for (const r of results.filter((x) => x.violations.length)) {
    console.log(`\nVIOLATION on ${r.db}, seed ${r.seed} (replay: npm run torture -- --chaos --runs 1 --seed-from ${r.seed} --db ${r.db === 'postgres' ? 'pg' : 'sqlite'})`);
    console.log(`  faults: ${r.log.join(' | ')}`);
    const shown = r.violations.slice(0, 12);
    for (const v of shown) console.log(`  - ${v}`);
    if (r.violations.length > shown.length) console.log(`  ... and ${r.violations.length - shown.length} more`);
    if (r.kept) console.log(`  kept: ${r.kept}`);
  }
  console.log(`TORTURE: ${JSON.stringify({ workload: 'chaos', summary })}`);
  return results.some((r) => r.violations.length) ? 1 : 0;
}
