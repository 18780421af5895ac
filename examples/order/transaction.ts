/**
 * The order workflow, fixed another way: the charge is a transaction step
 * =======================================================================
 *
 * What changed (compare with buggy.ts)
 *   One word: chargeCard is registered with DBOS.registerTransaction instead of registerStep. Its
 *   body is buggy.ts's, random charge id and all. The charge row and the step's recorded outcome
 *   now commit in one transaction, on the database that holds both: a crash before the COMMIT
 *   leaves neither (the recovery charges once), a crash after it leaves both (the recovery replays
 *   the outcome and does not charge again). No idempotency key is needed, because there is no
 *   moment at which the charge exists and its checkpoint does not.
 *   This works only because `charges` is in the same database as the engine's tables. A real
 *   payment API is outside any transaction of ours: for that, fixed.ts's idempotency key is the way.
 *
 * Check it
 *   npm run crash-test -- examples/order/transaction.ts order            # SQLite
 *   npm run crash-test -- examples/order/transaction.ts order --db pg    # embedded PostgreSQL
 *   Every crash point prints "ok"; step 1 reads "crash inside the transaction, before COMMIT, of
 *   transaction step 1 (chargeCard)" and "crash after COMMIT of transaction step 1 (chargeCard)".
 */
import { randomUUID } from 'node:crypto';
import { DBOS } from '../../lib/index.js';
import { createTables } from './tables.js';

export { check, crashTestArgs } from './tables.js';

const reserveStock = DBOS.registerStep(async function reserveStock(orderID: string, sku: string, qty: number) {
  await createTables();
  await DBOS.appDatabase.query(`INSERT INTO reservations (order_id, sku, qty) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`, [orderID, sku, qty]);
  return qty;
});

// THE FIX: the same body as buggy.ts, in a transaction step (DBOS.appDatabase is its transaction).
const chargeCard = DBOS.registerTransaction(async function chargeCard(orderID: string, amountCents: number) {
  await DBOS.appDatabase.query(`INSERT INTO charges (charge_id, order_id, amount_cents, charged_at) VALUES (?, ?, ?, ?)`,
    [randomUUID(), orderID, amountCents, new Date().toISOString()]);
  return amountCents;
});

const sendEmail = DBOS.registerStep(async function sendEmail(orderID: string, to: string) {
  await DBOS.appDatabase.query(`INSERT INTO emails (order_id, kind, to_address) VALUES (?, 'confirmation', ?) ON CONFLICT (order_id, kind) DO NOTHING`, [orderID, to]);
  return to;
});

export const order = DBOS.registerWorkflow(async function order(orderID: string, sku: string, qty: number, amountCents: number, email: string) {
  const reserved = await reserveStock(orderID, sku, qty);
  const charged = await chargeCard(orderID, amountCents);
  const emailed = await sendEmail(orderID, email);
  return { orderID, reserved, charged, emailed };
});
