// The order example's own tables and its check, shared by the buggy and the fixed version.
//
//   reservations  one row per order: the stock set aside (keyed by order id: a repeat is a no-op)
//   charges       one row per charge of a card: the table where a duplicate costs a customer money
//   emails        one row per email sent (keyed by order id and kind: a repeat is a no-op)
//
// The check is what the crash-test harness runs after every recovery: the application's own
// invariant, which the engine cannot know. Here: every order is charged exactly once.
import { DBOS } from '../../lib/index.js';
import type { CheckContext } from '../../lib/harness/index.js';

export async function createTables(): Promise<void> {
  const db = DBOS.appDatabase;
  await db.exec(`CREATE TABLE IF NOT EXISTS reservations (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL)`);
  await db.exec(`CREATE TABLE IF NOT EXISTS charges (charge_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL, charged_at TEXT NOT NULL)`);
  await db.exec(`CREATE TABLE IF NOT EXISTS emails (order_id TEXT NOT NULL, kind TEXT NOT NULL, to_address TEXT NOT NULL, PRIMARY KEY (order_id, kind))`);
}

/** The arguments the harness uses when none are given: order id, sku, quantity, amount in cents, email. */
export const crashTestArgs = ['order-1', 'sku-42', 2, 1999, 'ada@example.com'];

/** Exactly one charge, one reservation and one confirmation per order (throws with what it found). */
export async function check({ db, args }: CheckContext): Promise<string[]> {
  const orderID = String(args[0]);
  const count = async (table: string) =>
    Number((await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table} WHERE order_id = ?`, [orderID]))[0].n);
  const problems: string[] = [];
  const charges = await count('charges');
  if (charges !== 1) problems.push(`order ${orderID} was charged ${charges} times, expected exactly once`);
  const reservations = await count('reservations');
  if (reservations !== 1) problems.push(`order ${orderID} has ${reservations} stock reservations, expected 1`);
  const emails = await count('emails');
  if (emails !== 1) problems.push(`order ${orderID} got ${emails} confirmation emails, expected 1`);
  return problems;
}
