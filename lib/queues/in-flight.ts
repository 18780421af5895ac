// The most jobs in flight at once, from the jobs' own start and end times: a sweep over the
// intervals, ends before starts at the same millisecond (a job's end is written before its
// workflow finishes, and the next claim comes after that). ex7 and the queue torture use it.

export interface Interval {
  start: number;
  /** null: still running (counts until the end of time) */
  end: number | null;
}

export function maxInFlight(intervals: Interval[]): number {
  const events: [number, number][] = [];
  for (const i of intervals) {
    events.push([i.start, 1]);
    if (i.end !== null) events.push([i.end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

/** maxInFlight per group (a worker), and over all. */
export function maxInFlightBy<K>(rows: (Interval & { group: K })[]): { all: number; by: Map<K, number> } {
  const groups = new Map<K, Interval[]>();
  for (const r of rows) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  return { all: maxInFlight(rows), by: new Map([...groups].map(([k, v]) => [k, maxInFlight(v)])) };
}
