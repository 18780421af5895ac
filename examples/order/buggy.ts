/**
 * The order workflow, first version: it has a bug that only a crash reveals
 * =========================================================================
 *
 * What it is
 *   A workflow of the kind you write for your own application: reserve the stock, charge the
 *   card, send the confirmation email. Each is a step with a side effect in a table. Run without
 *   a crash, it is correct: one reservation, one charge, one email.
 *
 * The bug
 *   chargeCard inserts a charge with a fresh random id. If the process dies after the charge is
 *   written but before the step's outcome is recorded, recovery runs chargeCard again (promise 3
 *   of docs/DESIGN.md: at-least-once) and the customer is charged twice. The workflow's result is the
 *   same either way, so only the application's check (exactly one charge per order) can see it.
 *
 * Find it
 *   npm run crash-test -- examples/order/buggy.ts order            # SQLite
 *   npm run crash-test -- examples/order/buggy.ts order --db pg    # embedded PostgreSQL
 *   It prints one line per crash point and fails at "crash before recording step 1 (chargeCard)":
 *   "check: order order-1 was charged 2 times, expected exactly once". fixed.ts passes.
 *
 * This module only registers and exports; it never launches the engine (the harness does).
 */
import { randomUUID } from 'node:crypto';
import { DBOS } from '../../lib/index.js';
import { createTables } from './tables.js';

export { check, crashTestArgs } from './tables.js';

const reserveStock = DBOS.registerStep(async function reserveStock(orderID: string, sku: string, qty: number) {
  await createTables();
  // Keyed by the order id: a repeat after a crash finds the row and does nothing.
  await DBOS.appDatabase.query(`INSERT INTO reservations (order_id, sku, qty) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`, [orderID, sku, qty]);
  return qty;
});

// THE BUG: a fresh id for every call, so a repeat is a second charge, not the same one.
const chargeCard = DBOS.registerStep(async function chargeCard(orderID: string, amountCents: number) {
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
