/**
 * The order workflow, fixed: the charge carries an idempotency key
 * ================================================================
 *
 * What changed (compare with buggy.ts)
 *   chargeCard's charge id is no longer random: it is the workflow id and the step's name, the
 *   same on every run of the step. A repeat after a crash inserts nothing (ON CONFLICT DO
 *   NOTHING; SQLite's INSERT OR IGNORE is the same) and reads back the charge the first run made.
 *   A real payment API takes the same key as its "Idempotency-Key" header.
 *
 * Check it
 *   npm run crash-test -- examples/order/fixed.ts order            # SQLite
 *   npm run crash-test -- examples/order/fixed.ts order --db pg    # embedded PostgreSQL
 *   Every crash point prints "ok"; "crash before recording step 1 (chargeCard)" notes that
 *   chargeCard ran twice, and the check shows that the second run changed nothing.
 */
import { DBOS } from '../../lib/index.js';
import { createTables } from './tables.js';

export { check, crashTestArgs } from './tables.js';

const reserveStock = DBOS.registerStep(async function reserveStock(orderID: string, sku: string, qty: number) {
  await createTables();
  await DBOS.appDatabase.query(`INSERT INTO reservations (order_id, sku, qty) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`, [orderID, sku, qty]);
  return qty;
});

// THE FIX: the key is the same on every run of this step of this workflow.
const chargeCard = DBOS.registerStep(async function chargeCard(orderID: string, amountCents: number) {
  const chargeID = `${DBOS.workflowID}:chargeCard`;
  await DBOS.appDatabase.query(`INSERT INTO charges (charge_id, order_id, amount_cents, charged_at) VALUES (?, ?, ?, ?) ON CONFLICT (charge_id) DO NOTHING`,
    [chargeID, orderID, amountCents, new Date().toISOString()]);
  const [row] = await DBOS.appDatabase.query<{ amount_cents: unknown }>(`SELECT amount_cents FROM charges WHERE charge_id = ?`, [chargeID]);
  return Number(row.amount_cents);
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
