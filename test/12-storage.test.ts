// The system database itself: versioned, idempotent migrations, and the users model.
import { describe, expect, it } from 'vitest';
import { fakeUsers, userId, USER_NAMESPACE } from '../lib/index.js';
import { openDatabase } from '../lib/storage/open.js';
import { MIGRATIONS } from '../lib/storage/schema.js';
import { DATABASES, freshDatabase } from './helpers.js';

for (const kind of DATABASES) {
  describe(`${kind}: migrations`, () => {
    it('are versioned and idempotent: opening the same database again changes nothing', async () => {
      const { choice } = await freshDatabase(kind);
      const versions = [];
      for (let i = 0; i < 3; i++) {
        const { db, release } = await openDatabase(choice, 'storage', 'workbook-test');
        await db.migrate();
        const prefix = kind === 'postgres' ? 'dbos.' : '';
        versions.push((await db.app.query<{ version: unknown }>(`SELECT version FROM ${prefix}workbook_migrations ORDER BY version`)).map((r) => Number(r.version)));
        await db.close();
        await release();
      }
      const all = MIGRATIONS.map((m) => m.version);
      expect(versions).toEqual([all, all, all]);
    });

    it('keep the queue indexes to queued workflows (migration 8): other workflows write no entry there', async () => {
      const { choice } = await freshDatabase(kind);
      const { db, release } = await openDatabase(choice, 'storage', 'workbook-test');
      await db.migrate();
      const names = ['workflow_status_queue_idx', 'workflow_status_queue_started_idx'];
      const defs = kind === 'postgres'
        ? await db.app.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'dbos' AND indexname IN ($1, $2)`, names)
        : await db.app.query<{ def: string }>(`SELECT sql AS def FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)`, names);
      await db.close();
      await release();
      expect(defs).toHaveLength(2);
      for (const { def } of defs) expect(def).toMatch(/WHERE \(?queue_name IS NOT NULL\)?\s*$/i);
    });
  });
}

describe('users', () => {
  it('have UUIDv5 ids of (externalId, name) under a fixed namespace', () => {
    expect(USER_NAMESPACE).toMatch(/^[0-9a-f-]{36}$/);
    const id = userId('123', 'Ada Lovelace');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(userId('123', 'Ada Lovelace')).toBe(id);
    expect(userId('124', 'Ada Lovelace')).not.toBe(id);
  });

  it('page N always yields the same 10 users, and pages differ', () => {
    const a = fakeUsers(3);
    fakeUsers(7);
    expect(fakeUsers(3)).toEqual(a);
    expect(a).toHaveLength(10);
    expect(new Set(a.map((u) => u.id)).size).toBe(10);
    expect(fakeUsers(4).map((u) => u.id)).not.toEqual(a.map((u) => u.id));
    for (const u of a) expect(u.id).toBe(userId(u.externalId, u.name));
  });
});
