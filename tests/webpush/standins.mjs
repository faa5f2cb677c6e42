// Stand-ins for Firebase Cloud Messaging (HTTP v1 and its OAuth token endpoint) and the Apple
// Push Notification service (HTTP/2), which the test machines cannot reach. Each checks what
// its documentation asks of a request, signatures verified with jose (code Parley did not
// write), records the outcome, and answers as the real service would.
//
//   node standins.mjs FCM_PUBLIC_PEM_FILE APNS_PUBLIC_PEM_FILE
// prints {"fcm": PORT, "apns": PORT} once listening. GET http://127.0.0.1:FCM/requests gives
// every request seen, with "problems" (empty when the request was right).
//
// Device tokens that begin with "gone" (FCM) or "dead" (APNs, whose tokens are hexadecimal) are
// answered as uninstalled apps (404 UNREGISTERED, 410 Unregistered); FCM tokens that begin with
// "busy" once with 503 and Retry-After: 1.
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import crypto from 'node:crypto';
import * as jose from 'jose';

const fcmKey = crypto.createPublicKey(fs.readFileSync(process.argv[2]));
const apnsKey = crypto.createPublicKey(fs.readFileSync(process.argv[3]));
const requests = [];
const issued = new Set();
const busySeen = new Set();
let fcmPort = 0;

function body(stream) {
  return new Promise((resolve) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function fcmToken(req, text) {
  const problems = [];
  const form = new URLSearchParams(text);
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') problems.push('content-type ' + req.headers['content-type']);
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') problems.push('grant_type ' + form.get('grant_type'));
  let claims = {};
  try {
    const verified = await jose.jwtVerify(form.get('assertion'), fcmKey, { algorithms: ['RS256'] });
    claims = verified.payload;
    if (claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging') problems.push('scope ' + claims.scope);
    if (claims.aud !== `http://127.0.0.1:${fcmPort}/token`) problems.push('aud ' + claims.aud);
    if (claims.iss !== 'parley-test@parley-test.iam.gserviceaccount.com') problems.push('iss ' + claims.iss);
    if (!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600)) problems.push('exp/iat');
  } catch (e) {
    problems.push('assertion: ' + e.message);
  }
  const token = 'ya29.stand-in-' + crypto.randomBytes(6).toString('hex');
  if (problems.length === 0) issued.add(token);
  requests.push({ service: 'fcm-token', problems, claims });
  return problems.length ? [400, { error: 'invalid_grant' }] : [200, { access_token: token, expires_in: 3599, token_type: 'Bearer' }];
}

function fcmSend(req, text, project) {
  const problems = [];
  const auth = req.headers.authorization || '';
  if (!auth.startsWith('Bearer ') || !issued.has(auth.slice(7))) problems.push('authorization ' + auth);
  if (project !== 'parley-test') problems.push('project ' + project);
  let message = {};
  let payload = null;
  try {
    message = JSON.parse(text).message;
    if (typeof message.token !== 'string') problems.push('message.token');
    for (const [k, v] of Object.entries(message.data || {})) if (typeof v !== 'string') problems.push('data.' + k + ' not a string');
    payload = JSON.parse(message.data.parley);
    if (!['HIGH', 'NORMAL'].includes(message.android?.priority)) problems.push('android.priority');
    if (!/^\d+s$/.test(message.android?.ttl || '')) problems.push('android.ttl');
    if (Buffer.byteLength(text) > 4096) problems.push('message over 4 KB');
  } catch (e) {
    problems.push('body: ' + e.message);
  }
  requests.push({ service: 'fcm', problems, token: message.token, collapse_key: message.android?.collapse_key, payload,
                  sealed: message.data?.parley_encrypted });
  if (problems.length) return [400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: problems.join('; ') } }];
  if (message.token.startsWith('gone')) return [404, { error: { code: 404, status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } }];
  if (message.token.startsWith('busy') && !busySeen.has(message.token)) {
    busySeen.add(message.token);
    return [503, { error: { code: 503, status: 'UNAVAILABLE' } }, { 'retry-after': '1' }];
  }
  return [200, { name: `projects/parley-test/messages/${crypto.randomUUID()}` }];
}

const fcm = http.createServer(async (req, res) => {
  const text = await body(req);
  let answer = [404, { error: 'no such route' }];
  if (req.method === 'GET' && req.url === '/requests') answer = [200, requests];
  else if (req.method === 'POST' && req.url === '/token') answer = await fcmToken(req, text);
  else {
    const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url);
    if (req.method === 'POST' && m) answer = fcmSend(req, text, m[1]);
  }
  res.writeHead(answer[0], { 'content-type': 'application/json', ...(answer[2] || {}) });
  res.end(JSON.stringify(answer[1]));
});

// APNs speaks HTTP/2 only; over plain TCP here (prior knowledge), as the real one does over TLS.
const apns = http2.createServer();
apns.on('stream', async (stream, headers) => {
  const text = await body(stream);
  const problems = [];
  const m = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(headers[':path']);
  if (headers[':method'] !== 'POST' || !m) problems.push('path ' + headers[':path']);
  const auth = headers.authorization || '';
  let claims = {};
  let header = {};
  try {
    const verified = await jose.jwtVerify(auth.replace(/^bearer /, ''), apnsKey, { algorithms: ['ES256'] });
    claims = verified.payload;
    header = verified.protectedHeader;
    if (header.kid !== 'KEYID12345') problems.push('kid ' + header.kid);
    if (claims.iss !== 'TEAMID1234') problems.push('iss ' + claims.iss);
    if (!(Math.abs(Date.now() / 1000 - claims.iat) < 3600)) problems.push('iat');
  } catch (e) {
    problems.push('authorization: ' + e.message);
  }
  if (!auth.startsWith('bearer ')) problems.push('authorization scheme');
  if (headers['apns-push-type'] !== 'alert') problems.push('apns-push-type ' + headers['apns-push-type']);
  if (!['5', '10'].includes(headers['apns-priority'])) problems.push('apns-priority');
  if (!headers['apns-topic']) problems.push('apns-topic');
  if (!/^\d+$/.test(headers['apns-expiration'] || '')) problems.push('apns-expiration');
  if ((headers['apns-collapse-id'] || '').length > 64) problems.push('apns-collapse-id too long');
  let payload = null;
  let aps = {};
  let sealed;
  try {
    const json = JSON.parse(text);
    aps = json.aps || {};
    payload = json.parley;
    sealed = json.parley_encrypted;
    if (typeof aps.alert?.title !== 'string' || typeof aps.alert?.body !== 'string') problems.push('aps.alert');
    if (Buffer.byteLength(text) > 4096) problems.push('payload over 4 KB');
  } catch (e) {
    problems.push('body: ' + e.message);
  }
  const token = m ? m[1] : '';
  requests.push({ service: 'apns', problems, token, authority: headers[':authority'], topic: headers['apns-topic'],
                  collapse_id: headers['apns-collapse-id'], alert: aps?.alert, payload, sealed });
  let status = 200;
  let answer = '';
  if (problems.length) [status, answer] = [400, JSON.stringify({ reason: 'BadRequest: ' + problems.join('; ') })];
  else if (token.startsWith('dead')) [status, answer] = [410, JSON.stringify({ reason: 'Unregistered', timestamp: Date.now() })];
  stream.respond({ ':status': status, 'apns-id': crypto.randomUUID() });
  stream.end(answer);
});

fcm.listen(0, '127.0.0.1', () => {
  fcmPort = fcm.address().port;
  apns.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ fcm: fcmPort, apns: apns.address().port }) + '\n');
  });
});
