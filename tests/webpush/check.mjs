// Independent checks of Parley's Web Push crypto (tests/unit/push_crypto_test.cpp), with code
// Parley did not write. Reads one JSON request on stdin, prints one JSON answer on stdout;
// exits non-zero (message on stderr) when a check fails.
//
//   {"op":"decrypt","ua_private":B64URL,"auth_secret":B64URL,"body":B64URL}
//     -> {"plaintext":B64URL}: http_ece decrypts an aes128gcm body as a browser would.
//   {"op":"vapid","authorization":"vapid t=..., k=..."}
//     -> {"header":{...},"claims":{...}}: jose verifies the ES256 JWT with the k= key.
//   {"op":"jwt","token":JWT,"public_key_pem":SPKI_PEM,"alg":"ES256"|"RS256"}
//     -> {"header":{...},"claims":{...}}: jose verifies the signature.
import crypto from 'node:crypto';
import ece from 'http_ece';
import * as jose from 'jose';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function decrypt(request) {
  const receiver = crypto.createECDH('prime256v1');
  receiver.setPrivateKey(Buffer.from(request.ua_private, 'base64url'));
  // The sender's public key comes from the body's key id (aes128gcm), not from a parameter.
  const plaintext = ece.decrypt(Buffer.from(request.body, 'base64url'), {
    version: 'aes128gcm',
    privateKey: receiver,
    authSecret: request.auth_secret,
  });
  return { plaintext: plaintext.toString('base64url') };
}

async function verify(token, key) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, key);
  return { header: protectedHeader, claims: payload };
}

async function vapid(request) {
  const match = /^vapid t=([A-Za-z0-9_.-]+), k=([A-Za-z0-9_-]+)$/.exec(request.authorization);
  if (!match) throw new Error('not a vapid Authorization header: ' + request.authorization);
  const point = Buffer.from(match[2], 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('k= is not an uncompressed P-256 point');
  const key = await jose.importJWK({
    kty: 'EC', crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  }, 'ES256');
  return verify(match[1], key);
}

async function jwt(request) {
  return verify(request.token, await jose.importSPKI(request.public_key_pem, request.alg));
}

const request = await readStdin();
const operations = { decrypt, vapid, jwt };
if (!operations[request.op]) throw new Error('unknown op ' + request.op);
process.stdout.write(JSON.stringify(await operations[request.op](request)) + '\n');
