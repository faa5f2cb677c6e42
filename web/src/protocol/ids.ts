// Client message ids (protocol 5.4): time-ordered so that the server's dedup index grows at its
// end. Layout, as the C++ client: <11 hex digits of ms><6 hex counter><12 hex random> = 29 chars.

let lastMs = 0;
let counter = 0;

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0').slice(-digits);
}

/** A fresh client_msg_id. Ids made by one page are strictly increasing as strings. */
export function newClientMsgId(now: number = Date.now()): string {
  // A clock that steps back must not reorder ids: keep the larger time and count on.
  const ms = Math.max(now, lastMs);
  counter = ms === lastMs ? (counter + 1) & 0xffffff : Math.floor(Math.random() * 0x1000);
  lastMs = ms;
  const random = new Uint8Array(6);
  crypto.getRandomValues(random);
  let tail = '';
  for (const byte of random) tail += hex(byte, 2);
  return hex(ms, 11) + hex(counter, 6) + tail;
}

let requestCounter = 0;

/** A request id for the `id` field of a command: unique within this page. */
export function newRequestId(prefix = 'r'): string {
  requestCounter += 1;
  return prefix + requestCounter.toString(36);
}
