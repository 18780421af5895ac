// Durable sleep, events and messages: what DBOS.sleep, setEvent/getEvent and send/recv call.
export { sleepms } from './sleep.js';
export { getEvent, setEvent } from './events.js';
export { recv, send } from './send-recv.js';
export { OP, type WaitOptions } from './op.js';
