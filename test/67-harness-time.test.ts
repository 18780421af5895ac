// The crash-test harness knows the operations of time and messages: examples/time/reminder.ts
// (send to itself, durable sleep, recv with its timeout, setEvent) is crashed before and after
// each recorded DBOS.* operation and recovered (PostgreSQL: before only); every point passes, so a
// message is consumed once and an event set once whatever the crash point.
import { describe, expect, it } from 'vitest';
import { crashTest } from '../lib/harness/index.js';
import { DATABASES, freshDatabase } from './helpers.js';

for (const kind of DATABASES) {
  describe(`${kind}: crash points between sleep, send, recv and setEvent`, () => {
    it('passes every crash point of the reminder example', async () => {
      const fresh = await freshDatabase(kind);
      // 24 processes per database: on PostgreSQL only the crashes before each record (the message
      // still unconsumed, the event not yet set), to keep the suite's time down.
      const when = kind === 'sqlite' ? (['after', 'before'] as const) : (['before'] as const);
      const report = await crashTest('examples/time/reminder.ts', 'reminder', undefined, {
        log: () => {}, keepDatabases: false, db: kind === 'sqlite' ? 'sqlite' : 'pg', concurrency: 2, env: { ...process.env, ...fresh.env }, when: [...when],
      });
      expect(report.points.filter((p) => !p.ok).map((p) => p.problems)).toEqual([]);
      const names = [...new Set(report.points.map((p) => p.name))].sort();
      expect(names).toEqual(['DBOS.recv', 'DBOS.send', 'DBOS.setEvent', 'DBOS.sleep', 'compose']);
      expect(report.points).toHaveLength(6 * when.length); // 6 recorded outcomes x each crash moment
    }, 400_000);
  });
}
