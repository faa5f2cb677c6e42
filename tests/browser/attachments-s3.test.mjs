// Attachments with media.backend = s3, against s3rver (tests/s3presign, an S3 server Parley did
// not write) whose bucket lets the page's origin GET, HEAD and PUT (s3rver.mjs --cors). The
// server's policy names the store's origin in connect-src, img-src and media-src. Alice attaches
// a PNG: the browser PUTs it cross-origin to the pre-signed URL of uploads/ID, media.complete
// makes parleyd fetch and check it and store media/ID and media/ID.thumb, and the upload object
// goes. Bob sees the thumbnail and the full image in the lightbox from pre-signed GET URLs of the
// store (its download link opens in a new tab: the app stays), and a text file's card downloads
// the exact bytes. No page reports a CSP violation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertNoErrors, bubble, composer, openConversation, signIn, waitForMessage } from './lib/app.mjs';
import { Api } from './lib/api.mjs';
import { launchBrowser, openPage } from './lib/browser.mjs';
import { png } from './lib/media.mjs';
import { Parleyd, REPO, WEB_ROOT, freePort } from './lib/parleyd.mjs';

const BUCKET = 'parley-media';
const S3RVER = path.join(REPO, 'tests/s3presign/s3rver.mjs');

/**
 * Starts s3rver with its files under `directory` and a bucket CORS configuration for pages of
 * `origin`; resolves to { port, process } once it listens. The caller kills the process.
 */
async function startS3rver(directory, origin) {
  if (!existsSync(path.join(REPO, 'tests/s3presign/node_modules/s3rver'))) {
    throw new Error('s3rver is not installed: run "npm ci --prefix tests/s3presign"');
  }
  // Its stderr is not the runner's: a pipe it kept open would keep the runner's output waiting.
  const child = spawn(process.execPath, [S3RVER, directory, '--cors', origin, '--lifetime', '600'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // Also when this file fails before its after() hook is in place.
  process.on('exit', () => child.kill('SIGTERM'));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`s3rver exited (${code}) before it listened`);
  });
  const [line] = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited]);
  exited.catch(() => {}); // it exits when the file's tests are done
  return { port: JSON.parse(line).port, process: child };
}

// parleyd's port is chosen first: the bucket's CORS rule names the page's exact origin, as a
// deployment would.
if (!existsSync(path.join(WEB_ROOT, 'index.html'))) {
  throw new Error(`the web client is not built (${WEB_ROOT}/index.html missing): run "npm ci && npm run build" in web/`);
}
const parleydPort = await freePort();
const pageOrigin = `http://127.0.0.1:${parleydPort}`;
const s3Directory = mkdtempSync(path.join(tmpdir(), 'parley-s3rver-'));
const s3 = await startS3rver(s3Directory, pageOrigin);
const s3Origin = `http://127.0.0.1:${s3.port}`;
const server = new Parleyd({
  port: parleydPort,
  dataDir: mkdtempSync(path.join(tmpdir(), 'parley-browser-')),
  args: [
    '--media.backend', 's3',
    '--media.s3.endpoint', s3Origin,
    '--media.s3.bucket', BUCKET,
    '--media.s3.access_key', 'S3RVER',
    '--media.s3.secret_key', 'S3RVER',
  ],
});
await server.start();
const browser = await launchBrowser();
after(async () => {
  await browser.close();
  await server.dispose();
  s3.process.kill('SIGTERM');
  rmSync(s3Directory, { recursive: true, force: true });
});
const api = new Api(server.base);
const alice = await api.register('alice', 'Alice Liddell');
const bob = await api.register('bob', 'Bob Stone');
const { conversation_id: conversationId } = await api.sendToUser(alice.token, bob.user.id, 'Hi Bob');

/** The bytes s3rver holds for an object of the bucket (it keeps KEY._S3rver_object), or null. */
function stored(key) {
  const file = path.join(s3Directory, BUCKET, `${key}._S3rver_object`);
  return existsSync(file) ? readFileSync(file) : null;
}

/** Waits until `condition()` holds (parleyd deletes the upload object on its media worker). */
async function waitUntil(condition, message, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(message);
    await delay(50);
  }
}

/**
 * A signed-in page with its direct chat open that records every `securitypolicyviolation` (from
 * before the first script runs), every console line about the policy, and every request it
 * makes to the store (with the status of its answer).
 */
async function chatPage(username, peer) {
  const opened = await openPage(browser, server.base, username);
  await opened.page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push({ directive: event.effectiveDirective, blocked: event.blockedURI });
    });
  });
  opened.cspConsole = [];
  opened.page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) opened.cspConsole.push(message.text());
  });
  opened.storeRequests = [];
  opened.page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin !== s3Origin) return;
    opened.storeRequests.push({ method: response.request().method(), path: url.pathname, status: response.status() });
  });
  await signIn(opened.page, username);
  await openConversation(opened.page, peer);
  return opened;
}

/** Fails if a page saw a CSP violation or logged an error; closes its context. */
async function assertCleanAndClose(...pages) {
  for (const { page, cspConsole, watch } of pages) {
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], `${watch.label}: securitypolicyviolation events`);
    assert.deepEqual(cspConsole, [], `${watch.label}: CSP lines on the console`);
  }
  assertNoErrors(...pages.map((opened) => opened.watch));
  for (const { context } of pages) await context.close();
}

/** Picks files with the paperclip's file chooser. */
async function attach(page, files) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach files' }).click();
  await (await chooser).setFiles(files);
}

/** Waits until an <img> matched by `locator` has loaded; returns its src and natural width. */
async function loadedImage(locator) {
  await locator.and(locator.page().locator('[data-loaded="true"]')).waitFor();
  return locator.evaluate((img) => ({ src: img.currentSrc, width: img.naturalWidth }));
}

/** The id of the one attachment of the stored message with this text. */
async function attachmentId(text) {
  const events = await api.allEvents(bob.token, conversationId);
  const message = events.find((event) => event.text === text);
  assert.equal(message?.attachments?.length, 1, `one attachment on "${text}"`);
  return message.attachments[0].id;
}

test("the page's policy lets it reach the store: connect-src, img-src and media-src name its origin", async () => {
  const policy = (await fetch(`${server.base}/`)).headers.get('content-security-policy') ?? '';
  for (const name of ['connect-src', 'img-src', 'media-src']) {
    const directive = policy.split(';').map((part) => part.trim().split(/\s+/)).find(([first]) => first === name) ?? [];
    assert.ok(directive.includes(s3Origin), `${name} names ${s3Origin}: ${policy}`);
  }
});

test('a picture goes to the store and back: PUT to uploads/ID, shown to Bob from media/ID and its thumbnail', async () => {
  const alicePage = await chatPage('alice', 'Bob Stone');
  const bobPage = await chatPage('bob', 'Alice Liddell');
  const image = png(64, 48);
  await attach(alicePage.page, { name: 'harbour.png', mimeType: 'image/png', buffer: image });
  await alicePage.page.getByTestId('composer-file').filter({ hasText: 'harbour.png' }).waitFor();
  await composer(alicePage.page).fill('The harbour at noon');
  await composer(alicePage.page).press('Enter');
  await waitForMessage(alicePage.page, 'The harbour at noon');
  const id = await attachmentId('The harbour at noon');

  // Alice's browser put the bytes straight into the store, once (Playwright does not report the
  // CORS preflight).
  assert.deepEqual(alicePage.storeRequests.filter((request) => request.method === 'PUT'),
    [{ method: 'PUT', path: `/${BUCKET}/uploads/${id}`, status: 200 }]);
  // parleyd stored the checked file and its thumbnail, and removed the upload object.
  assert.deepEqual(stored(`media/${id}`), image, 'media/ID holds the picture');
  assert.ok(stored(`media/${id}.thumb`)?.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), 'media/ID.thumb is a JPEG');
  await waitUntil(() => stored(`uploads/${id}`) === null, `uploads/${id} was not deleted`);

  // Bob: the thumbnail from a pre-signed GET URL of the store, then the full picture.
  await waitForMessage(bobPage.page, 'The harbour at noon');
  const tile = bubble(bobPage.page, 'The harbour at noon').getByTestId('attachment');
  const thumbnail = await loadedImage(tile.getByTestId('attachment-image'));
  assert.ok(thumbnail.width > 0, 'the thumbnail loaded');
  assert.equal(new URL(thumbnail.src).origin, s3Origin, `the thumbnail comes from the store: ${thumbnail.src}`);
  assert.equal(new URL(thumbnail.src).pathname, `/${BUCKET}/media/${id}.thumb`);
  assert.ok(new URL(thumbnail.src).searchParams.has('X-Amz-Signature'), 'a pre-signed URL');

  await tile.getByRole('button', { name: 'Open Photo harbour.png' }).click();
  const lightbox = bobPage.page.getByRole('dialog', { name: 'harbour.png' });
  const full = await loadedImage(lightbox.getByTestId('lightbox-image'));
  assert.equal(full.width, 64, 'the full picture at its own width');
  assert.equal(new URL(full.src).origin + new URL(full.src).pathname, `${s3Origin}/${BUCKET}/media/${id}`);
  // Its download link goes to the store, which serves a picture inline; a browser ignores
  // `download` on another origin's link, so it opens in a new tab and the app stays.
  const download = lightbox.getByRole('link', { name: 'Download harbour.png' });
  assert.equal(new URL(await download.getAttribute('href')).origin, s3Origin);
  const before = bobPage.page.url();
  const opened = bobPage.page.waitForEvent('popup');
  await download.click();
  const tab = await opened;
  await tab.waitForLoadState();
  assert.equal(new URL(tab.url()).origin + new URL(tab.url()).pathname, `${s3Origin}/${BUCKET}/media/${id}`);
  assert.equal(bobPage.page.url(), before, 'the app did not navigate away');
  await tab.close();
  await bobPage.page.keyboard.press('Escape');
  await lightbox.waitFor({ state: 'detached' });
  const got = (key) => bobPage.storeRequests.some(({ method, path: where, status }) =>
    method === 'GET' && where === `/${BUCKET}/${key}` && status === 200);
  assert.ok(got(`media/${id}.thumb`) && got(`media/${id}`), `Bob got both from the store: ${JSON.stringify(bobPage.storeRequests)}`);
  await assertCleanAndClose(alicePage, bobPage);
});

test("a file's card downloads the exact bytes from the store", async () => {
  const alicePage = await chatPage('alice', 'Bob Stone');
  const bobPage = await chatPage('bob', 'Alice Liddell');
  const bytes = Buffer.from('Tide table\n06:12 high\n12:30 low\n'.repeat(50));
  await attach(alicePage.page, { name: 'tides.txt', mimeType: 'text/plain', buffer: bytes });
  await alicePage.page.getByTestId('composer-file').filter({ hasText: 'tides.txt' }).waitFor();
  await composer(alicePage.page).fill('Tides for the weekend');
  await composer(alicePage.page).press('Enter');
  await waitForMessage(alicePage.page, 'Tides for the weekend');
  const id = await attachmentId('Tides for the weekend');
  assert.deepEqual(stored(`media/${id}`), bytes);
  await waitUntil(() => stored(`uploads/${id}`) === null, `uploads/${id} was not deleted`);

  const card = bobPage.page.locator('[data-testid="attachment"][data-kind="file"][data-file-name="tides.txt"]');
  await card.waitFor();
  const link = card.getByRole('link', { name: 'Download tides.txt' });
  await bobPage.page.waitForFunction((node) => !!node.getAttribute('href'), await link.elementHandle());
  assert.equal(new URL(await link.getAttribute('href')).origin, s3Origin);
  // A click downloads the file (the store answers "attachment"): the app stays where it is.
  const before = bobPage.page.url();
  const download = bobPage.page.waitForEvent('download');
  await link.click();
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'tides.txt');
  assert.deepEqual(readFileSync(await saved.path()), bytes, 'the download is the file, byte for byte');
  assert.equal(bobPage.page.url(), before, 'the app did not navigate away');
  // The page may read it too (CORS): the bytes, not an error page.
  const fetched = await link.evaluate(async (a) => [...new Uint8Array(await (await fetch(a.href)).arrayBuffer())]);
  assert.deepEqual(Buffer.from(fetched), bytes);
  await assertCleanAndClose(alicePage, bobPage);
});
