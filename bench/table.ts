// One table per database: each figure, its ratio to the raw commit rate, and the target it is held to.
import Table from 'cli-table3';
import type { DatabaseResult, FlooredFigure, RateFigure, Sampled } from './figures.js';

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const spread = (s: Sampled) => (s.samples.length > 1 ? ` (${int(Math.min(...s.samples))}-${int(Math.max(...s.samples))})` : '');
// Floored, not rounded: 0.797 shows as 0.79x, so a ratio never reads as meeting a target it misses.
const ratio = (s: Sampled) => `${(Math.floor(s.median * 100) / 100).toFixed(2)}x`;
const share = (f: FlooredFigure) => `${Math.round(f.ofFloor.median * 100)}%`;
const floorLabel = (what: string) => `↳ floor: ${what}, engine's SQL alone`;

/** The check before each step (cancel or takeover from another process): steps/s with it over without, and its cost per step. */
const checkRow = (d: DatabaseResult) => [
  '↳ the check before each step (cancel, takeover)', `${d.preStepCheck.usPerStep.toFixed(1)} us per step`,
  `${ratio(d.preStepCheck.ofUnchecked)} of unchecked`, '', '', '',
];

export function renderTable(d: DatabaseResult, color = false): string {
  const verdict = (i: number) => (d.targets[i].ok ? 'ok' : 'MISSED');
  const table = new Table({
    head: ['figure', 'value (min-max of rounds)', 'vs raw', 'of floor', 'target', ''],
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
  });
  const rate = (label: string, f: RateFigure, ofFloor = '', target = '', ok = '') =>
    [label, `${int(f.perSecond.median)}/s${spread(f.perSecond)}`, ratio(f.ratioToRaw), ofFloor, target, ok];
  table.push(
    ['raw: single-row INSERT + commit', `${int(d.raw.commitsPerSecond.median)}/s${spread(d.raw.commitsPerSecond)}, ${d.raw.usPerCommit.toFixed(1)} us each`, '1.00x', '', '', ''],
    rate(`steps/s, one workflow of ${int(d.steps.n)} steps`, d.steps, share(d.steps), d.targets[0].want, verdict(0)),
    rate(floorLabel('the same steps'), d.steps.floor),
    checkRow(d),
    rate('one-step workflows/s, sequential', d.sequentialWorkflows, share(d.sequentialWorkflows), d.targets[1].want, verdict(1)),
    rate(floorLabel('2 commits each'), d.sequentialWorkflows.floor),
    rate(`one-step workflows/s, ${d.concurrentWorkflows.concurrency} at a time`, d.concurrentWorkflows),
    [`ex5 end to end (${int(d.ex5.users)} users, 10 child workflows)`, `${d.ex5.ms.toFixed(0)} ms`, `= ${int(d.ex5.rawCommitEquivalents)} raw commits`, '', '', ''],
    [`recovery of ${int(d.recovery.steps)} recorded steps`, `${d.recovery.ms.toFixed(0)} ms, ${d.recovery.queries} queries`,
      `= ${int(d.recovery.rawCommitEquivalents)} raw commits`, '', d.targets[2].want, verdict(2)],
    [`peak RSS after ${int(d.rss.firstSteps)} / ${int(d.rss.lastSteps)} steps`, `${d.rss.firstPeakMb.toFixed(0)} / ${d.rss.lastPeakMb.toFixed(0)} MB (+${d.rss.growthMb.toFixed(1)})`,
      '', '', d.targets[3].want, verdict(3)],
  );
  const title = `${d.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: ${d.description}, ${d.mode} mode, ${d.sizes.rounds} round${d.sizes.rounds > 1 ? 's' : ''}`;
  return `${title}\n${table.toString()}`;
}

/** The same figures as a Markdown table (--markdown), as the README shows them. */
export function renderMarkdown(d: DatabaseResult): string {
  const verdict = (i: number) => `${d.targets[i].want.replace(' raw', '')}: ${d.targets[i].ok ? 'met' : '**missed**'}`;
  const range = (s: Sampled) => `${int(Math.min(...s.samples))}-${int(Math.max(...s.samples))}`;
  const rate = (label: string, f: RateFigure, ofFloor = '', target = '') =>
    `| ${label} | ${int(f.perSecond.median)}/s | ${range(f.perSecond)} | ${ratio(f.ratioToRaw)} | ${ofFloor} | ${target} |`;
  const name = d.kind === 'sqlite' ? 'SQLite** (WAL, synchronous=NORMAL)' : 'PostgreSQL** (fsync on, synchronous_commit on)';
  return [
    `**${name}`,
    '',
    `| figure | median of ${d.sizes.rounds} round${d.sizes.rounds > 1 ? 's' : ''} | rounds (min-max) | vs raw | of floor | target |`,
    '|---|---:|---:|---:|---:|---|',
    `| raw: single-row INSERT + commit | ${int(d.raw.commitsPerSecond.median)}/s (${d.raw.usPerCommit.toFixed(0)} µs) | ${range(d.raw.commitsPerSecond)} | 1.00x | | |`,
    rate(`steps/s, one workflow of ${int(d.steps.n)} steps`, d.steps, share(d.steps), verdict(0)),
    rate(floorLabel('the same steps'), d.steps.floor),
    `| ${checkRow(d).slice(0, 3).join(' | ')} | | |`,
    rate('one-step workflows/s, one after the other', d.sequentialWorkflows, share(d.sequentialWorkflows), verdict(1)),
    rate(floorLabel('2 commits each'), d.sequentialWorkflows.floor),
    rate(`one-step workflows/s, ${d.concurrentWorkflows.concurrency} started at once`, d.concurrentWorkflows),
    `| ex5 end to end (${int(d.ex5.users)} users, 10 child workflows) | ${d.ex5.ms.toFixed(0)} ms | ${d.ex5.runsMs.map((x) => x.toFixed(0)).join(', ')} ms | = ${int(d.ex5.rawCommitEquivalents)} raw commits | | |`,
    `| recovery of ${int(d.recovery.steps)} recorded steps | ${d.recovery.ms.toFixed(0)} ms, ${d.recovery.queries} queries | | = ${int(d.recovery.rawCommitEquivalents)} raw commits | | ${verdict(2)} |`,
    `| peak RSS after ${int(d.rss.firstSteps)} / ${int(d.rss.lastSteps)} steps | ${d.rss.firstPeakMb.toFixed(0)} / ${d.rss.lastPeakMb.toFixed(0)} MB (+${d.rss.growthMb.toFixed(1)}) | | | | ${verdict(3)} |`,
  ].join('\n');
}
