// The migration runner: brings a system database up to the versions in schema.ts, each in one
// transaction with its row in workbook_migrations, under the driver's migration lock. Safe when
// several processes open the same database at once; a database already up to date costs one read.
import type { Driver } from './driver.js';
import { num, type Raw } from './rows.js';
import { MIGRATIONS, renderStatements } from './schema.js';

export async function migrate(d: Driver): Promise<void> {
  const S = d.schemaPrefix;
  // Usually every migration is in already: one read says so, without the lock and the second
  // connection it takes (a third of launch()'s time on PostgreSQL, issue 20). No table yet, or a missing version: the lock.
  const seen = await d.all<Raw>(`SELECT version FROM ${S}workbook_migrations`).catch(() => []);
  if (MIGRATIONS.every((m) => seen.some((r) => num(r.version) === m.version))) return;
  await d.withMigrationLock(async () => {
    await d.run(`CREATE TABLE IF NOT EXISTS ${S}workbook_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
    const applied = async () => new Set((await d.all<Raw>(`SELECT version FROM ${S}workbook_migrations`)).map((r) => num(r.version)));
    const done = await applied();
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      try {
        await d.transaction([
          ...renderStatements(m, S, d.dialect).map((sql) => ({ sql })),
          { sql: `INSERT INTO ${S}workbook_migrations (version, applied_at) VALUES (?, ?)`, params: [m.version, Date.now()] },
        ]);
      } catch (err) {
        // Another process applied it between our read and our transaction (SQLite has no lock to hold across both).
        if (!(await applied()).has(m.version)) throw err;
      }
    }
  });
}
