// Web Push without the internet: a push service on loopback that records what parleyd sends it,
// device keys made here as a browser would make them (RFC 8291), and the decryption of a recorded
// request (http_ece, a test-only dependency). parleyd must be started with PUSH_ARGS to accept a
// loopback http:// endpoint.
import { createECDH, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after } from 'node:test';
import ece from 'http_ece';

/** parleyd flags: http:// endpoints on a private address, and a quick delivery loop. */
export const PUSH_ARGS = ['--push.allow_http_endpoints', 'true', '--push.allow_private_networks', 'true', '--push.poll_ms', '100'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A push service on 127.0.0.1 that records every request ({method, url, headers, body}) and
 * answers 201; closed after the file's tests. `next(path, from)` waits for the first request to
 * `path` after the `from` requests already recorded.
 */
export async function startPushService() {
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    received,
    async next(path, from, timeout = 15_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const hit = received.slice(from).find((r) => r.url === path);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no push request to ${path}`);
        await sleep(50);
      }
    },
  };
}

/** A device's Web Push keys, as a browser makes them (RFC 8291): P-256 key pair, 16-byte auth. */
export function deviceKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, json: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
}

/** The notification object's JSON text inside a recorded request (decrypted with the device's keys). */
export function decrypt(request, keys) {
  const plain = ece.decrypt(request.body, { version: 'aes128gcm', privateKey: keys.ecdh, authSecret: keys.auth.toString('base64url') });
  return plain.toString('utf8');
}
