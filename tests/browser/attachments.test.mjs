// Attachments in the web client (issue 14): Alice attaches a real PNG with the paperclip and a
// caption; Bob sees the picture (the thumbnail through media.urls) and the caption live, opens it
// in the lightbox at full size and closes it with Escape. A text file is a card whose download
// link serves the exact bytes. Dropping and pasting attach too. A throttled upload shows its
// progress and can be cancelled (nothing is sent); one cut off by going offline is retried and
// arrives. After a reload the pictures show again (new URLs asked for).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { assertNoErrors, bubble, composer, conversationRow, messageMenu, openConversation, signIn, waitForMessage } from './lib/app.mjs';
import { Api } from './lib/api.mjs';
import { openPage } from './lib/browser.mjs';
import { png, uploadFile } from './lib/media.mjs';
import { Parleyd } from './lib/parleyd.mjs';
import { startSuite } from './lib/suite.mjs';

// Files up to 2 MB here, so that a refusal for size is quick to provoke.
const MAX_FILE_BYTES = 2_000_000;
const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers']],
  args: ['--media.max_file_bytes', String(MAX_FILE_BYTES)],
});

/** The same file size text as the client's ("812 B", "48 KB"). */
function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const value = bytes / 1024;
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} KB`;
}

/** Alice and Bob signed in, each with their direct chat open. */
async function openChats() {
  const alice = await openPage(browser, server.base, 'alice');
  const bob = await openPage(browser, server.base, 'bob');
  await signIn(alice.page, 'alice');
  await signIn(bob.page, 'bob');
  await openConversation(alice.page, 'Bob Stone');
  await openConversation(bob.page, 'Alice Liddell');
  return { alice, bob };
}

/** Picks files with the paperclip's file chooser. */
async function attach(page, files) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach files' }).click();
  await (await chooser).setFiles(files);
}

/** Waits until an <img> matched by `locator` has loaded; returns its natural width. */
async function loadedWidth(locator) {
  await locator.and(locator.page().locator('[data-loaded="true"]')).waitFor();
  return locator.evaluate((img) => img.naturalWidth);
}

/** CDP network conditions of one page: upload throttling, offline. */
async function network(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  return {
    set: (conditions) => cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1, ...conditions,
    }),
  };
}

/** Waits until the bar of an upload moved (bytes really went out). */
async function waitForProgress(page) {
  await page.waitForFunction(() => {
    const bar = document.querySelector('[data-testid="upload-progress"] progress');
    return bar && bar.value > 0;
  });
}

// Both users share a direct chat before the tests (opened over REST).
const { conversation_id: conversationId } = await api.sendToUser(users.alice.token, users.bob.user.id, 'Hi Bob');

test('a picture with a caption: shown live to the other user, opened full size in the lightbox', async () => {
  const { alice, bob } = await openChats();
  const image = png(64, 48);
  await attach(alice.page, { name: 'sunset.png', mimeType: 'image/png', buffer: image });
  const chip = alice.page.getByTestId('composer-file').filter({ hasText: 'sunset.png' });
  await chip.waitFor();
  assert.ok(await chip.locator('img').evaluate((img) => img.complete && img.naturalWidth === 64), 'the chip shows the local picture');
  await composer(alice.page).fill('Look at this sunset');
  await composer(alice.page).press('Enter');
  await alice.page.getByTestId('composer-file').waitFor({ state: 'detached' });
  await waitForMessage(alice.page, 'Look at this sunset');

  // Bob: the caption and the picture, live; sized before it loaded (64×48 fits the box as is).
  await waitForMessage(bob.page, 'Look at this sunset');
  const tile = bubble(bob.page, 'Look at this sunset').getByTestId('attachment');
  const box = await tile.boundingBox();
  assert.ok(Math.abs(box.width / box.height - 64 / 48) < 0.05, `the tile has the picture's shape: ${box.width}×${box.height}`);
  assert.ok(await loadedWidth(tile.getByTestId('attachment-image')) > 0, 'the thumbnail loaded');
  assert.match(await conversationRow(bob.page, 'Alice Liddell').textContent(), /📷 Look at this sunset/);

  // The lightbox: the full image (the original's width), closed with Escape.
  await tile.getByRole('button', { name: 'Open Photo sunset.png' }).click();
  const lightbox = bob.page.getByRole('dialog', { name: 'sunset.png' });
  await lightbox.waitFor();
  assert.equal(await loadedWidth(lightbox.getByTestId('lightbox-image')), 64);
  assert.ok(await lightbox.getByRole('link', { name: 'Download sunset.png' }).getAttribute('href'));
  await bob.page.keyboard.press('Escape');
  await lightbox.waitFor({ state: 'detached' });

  // What the server stored: one message with the caption and one PNG attachment.
  const events = await api.allEvents(users.bob.token, conversationId);
  const stored = events.find((event) => event.text === 'Look at this sunset');
  assert.equal(stored.attachments?.length, 1);
  assert.deepEqual([stored.attachments[0].file_name, stored.attachments[0].content_type, stored.attachments[0].width, stored.attachments[0].height], ['sunset.png', 'image/png', 64, 48]);
  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('forwarding a picture sends the same media id, without uploading it again', async () => {
  const { conversation_id: withCarol } = await api.sendToUser(users.carol.token, users.bob.user.id, 'Hi Bob, Carol here');
  const { page, watch, context } = await openPage(browser, server.base, 'bob');
  const sent = [];
  page.on('websocket', (socket) => socket.on('framesent', (frame) => sent.push(JSON.parse(String(frame.payload)).type)));
  await signIn(page, 'bob');
  await openConversation(page, 'Alice Liddell');
  await waitForMessage(page, 'Look at this sunset');
  await messageMenu(page, 'Look at this sunset', 'Forward');
  const dialog = page.getByRole('dialog', { name: 'Forward message' });
  assert.match(await dialog.textContent(), /📷 Look at this sunset/);
  await dialog.getByRole('button', { name: /Carol Danvers/ }).click();
  await openConversation(page, 'Carol Danvers');
  await waitForMessage(page, 'Look at this sunset');
  assert.ok(await loadedWidth(bubble(page, 'Look at this sunset').getByTestId('attachment-image')) > 0);

  const original = (await api.allEvents(users.bob.token, conversationId)).find((event) => event.text === 'Look at this sunset');
  const forwarded = (await api.allEvents(users.carol.token, withCarol)).find((event) => event.text === 'Look at this sunset');
  assert.equal(forwarded.attachments?.[0]?.id, original.attachments[0].id, 'the same media');
  assert.ok(!sent.includes('media.upload'), 'nothing uploaded again');
  assertNoErrors(watch);
  await context.close();
});

test('a picture without a caption previews as "📷 Photo"; deleted for everyone, it leaves a tombstone without it', async () => {
  const photo = await uploadFile(api, users.alice.token, 'gone.png', 'image/png', png(50, 50));
  const { page, watch, context } = await openPage(browser, server.base, 'bob');
  await signIn(page, 'bob');
  await openConversation(page, 'Alice Liddell');
  const { seq } = await api.sendWith(users.alice.token, conversationId, '', { attachments: [{ media_id: photo.id }] });
  const tile = page.locator('[data-testid="attachment"][data-file-name="gone.png"]');
  await tile.getByTestId('attachment-image').and(page.locator('[data-loaded="true"]')).waitFor();
  assert.match(await conversationRow(page, 'Alice Liddell').textContent(), /📷 Photo/);
  await api.call(users.alice.token, 'DELETE', `/v1/conversations/${conversationId}/messages/${seq}`);
  await page.locator(`[data-testid="message"][data-seq="${seq}"]`).filter({ hasText: 'This message was deleted' }).waitFor();
  assert.equal(await tile.count(), 0, 'no picture on the tombstone');
  assertNoErrors(watch);
  await context.close();
});

test('another file is a card whose download link serves the exact bytes', async () => {
  const { alice, bob } = await openChats();
  const bytes = Buffer.from('Minutes of the meeting\n1. Apples\n2. Pears\n'.repeat(40));
  await attach(alice.page, { name: 'minutes.txt', mimeType: 'text/plain', buffer: bytes });
  await alice.page.getByTestId('composer-file').filter({ hasText: 'minutes.txt' }).waitFor();
  await composer(alice.page).press('Enter');

  const card = bob.page.locator('[data-testid="attachment"][data-kind="file"][data-file-name="minutes.txt"]');
  await card.waitFor();
  assert.equal(await card.getByTestId('file-name').textContent(), 'minutes.txt');
  assert.equal(await card.getByTestId('file-size').textContent(), sizeText(bytes.length));
  const link = card.getByRole('link', { name: 'Download minutes.txt' });
  await bob.page.waitForFunction((node) => !!node.getAttribute('href'), await link.elementHandle());
  const fetched = await link.evaluate(async (a) => [...new Uint8Array(await (await fetch(a.href)).arrayBuffer())]);
  assert.deepEqual(Buffer.from(fetched), bytes, 'the download is the file, byte for byte');
  assert.match(await conversationRow(bob.page, 'Alice Liddell').textContent(), /📎 minutes\.txt/);
  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('dropping a file on the conversation and pasting a picture attach them', async () => {
  const { alice, bob } = await openChats();
  const bytes = [...png(40, 40)];
  // A drop of a file on the conversation, as the browser would dispatch it.
  await alice.page.getByRole('region', { name: 'Conversation with Bob Stone' }).evaluate((section, data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], 'dropped.png', { type: 'image/png' }));
    section.dispatchEvent(new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    section.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    section.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, bytes);
  await alice.page.getByTestId('composer-file').filter({ hasText: 'dropped.png' }).waitFor();
  assert.equal(await alice.page.getByTestId('drop-overlay').count(), 0, 'the overlay is gone after the drop');
  // A picture pasted into the message box.
  await composer(alice.page).evaluate((box, data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], 'pasted.png', { type: 'image/png' }));
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
  }, bytes);
  await alice.page.getByTestId('composer-file').filter({ hasText: 'pasted.png' }).waitFor();
  await composer(alice.page).fill('Two ways in');
  await composer(alice.page).press('Enter');

  await waitForMessage(bob.page, 'Two ways in');
  const pictures = bubble(bob.page, 'Two ways in').getByTestId('attachment-image');
  await pictures.nth(1).waitFor();
  for (const index of [0, 1]) assert.ok(await loadedWidth(pictures.nth(index)) > 0, `picture ${index} loaded`);
  assert.deepEqual(
    await bubble(bob.page, 'Two ways in').getByTestId('attachment').evaluateAll((nodes) => nodes.map((node) => node.dataset.fileName)),
    ['dropped.png', 'pasted.png'],
  );
  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('a slow upload shows its progress and can be cancelled: nothing is sent', async () => {
  const { alice, bob } = await openChats();
  const conditions = await network(alice.page);
  await conditions.set({ uploadThroughput: 64 * 1024 }); // bytes per second
  await attach(alice.page, { name: 'archive.bin', mimeType: 'application/octet-stream', buffer: randomBytes(1_500_000) });
  await alice.page.getByTestId('composer-file').waitFor();
  await composer(alice.page).fill('This one is big');
  await composer(alice.page).press('Enter');

  const pending = bubble(alice.page, 'This one is big');
  assert.equal(await pending.getAttribute('data-status'), 'pending');
  await waitForProgress(alice.page);
  await pending.getByRole('button', { name: 'Cancel upload of archive.bin' }).click();
  await pending.waitFor({ state: 'detached' });
  await conditions.set({});

  // A message sent afterwards arrives; the cancelled one never came before it.
  await composer(alice.page).fill('Never mind');
  await composer(alice.page).press('Enter');
  await waitForMessage(bob.page, 'Never mind');
  assert.equal(await bob.page.getByText('This one is big').count(), 0);
  const events = await api.allEvents(users.bob.token, conversationId);
  assert.ok(!events.some((event) => event.text === 'This one is big'), 'the server stored nothing of it');
  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('an upload cut off by going offline is retried and the message arrives', async () => {
  const { alice, bob } = await openChats();
  // The first PUT is held (CDP Fetch), the browser goes offline and the PUT fails as a dropped
  // network would fail it; later PUTs go through once the browser is online again.
  const cdp = await alice.page.context().newCDPSession(alice.page);
  await cdp.send('Network.enable');
  const offline = (value) => cdp.send('Network.emulateNetworkConditions', { offline: value, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/v1/media/*/content*', requestStage: 'Request' }] });
  let puts = 0;
  cdp.on('Fetch.requestPaused', async ({ requestId }) => {
    puts++;
    if (puts === 1) {
      await offline(true);
      await cdp.send('Fetch.failRequest', { requestId, errorReason: 'InternetDisconnected' });
    } else {
      await cdp.send('Fetch.continueRequest', { requestId });
    }
  });
  alice.watch.allow([/net::ERR_INTERNET_DISCONNECTED/, /WebSocket connection to .* failed/, /Failed to load resource/]);
  const payload = randomBytes(400_000);
  await attach(alice.page, { name: 'report.bin', mimeType: 'application/octet-stream', buffer: payload });
  await alice.page.getByTestId('composer-file').waitFor();
  await composer(alice.page).fill('Report attached');
  await composer(alice.page).press('Enter');

  // The upload failed and waits to try again; the message is still pending.
  await alice.page.locator('[data-testid="upload-progress"][data-waiting="true"]').waitFor();
  assert.equal(await bubble(alice.page, 'Report attached').getAttribute('data-status'), 'pending');
  await offline(false);

  await waitForMessage(alice.page, 'Report attached', 'sent', 30_000);
  assert.ok(puts >= 2, `the PUT was made again (${puts} in all)`);
  const card = bob.page.locator('[data-testid="attachment"][data-file-name="report.bin"]');
  await card.waitFor({ timeout: 30_000 });
  const link = card.getByRole('link', { name: 'Download report.bin' });
  await bob.page.waitForFunction((node) => !!node.getAttribute('href'), await link.elementHandle());
  const fetched = await link.evaluate(async (a) => [...new Uint8Array(await (await fetch(a.href)).arrayBuffer())]);
  assert.ok(Buffer.from(fetched).equals(payload), 'the retried upload stored the whole file');
  const events = await api.allEvents(users.bob.token, conversationId);
  assert.equal(events.filter((event) => event.text === 'Report attached').length, 1, 'sent once');
  alice.watch.allow([]);
  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('more files than a message can carry, and a file over the size limit, are refused with the limit', async () => {
  const { page, watch, context } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await openConversation(page, 'Bob Stone');
  const files = Array.from({ length: 11 }, (_, i) => ({ name: `note${i + 1}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`note ${i + 1}`) }));
  await attach(page, files);
  await page.getByRole('status').filter({ hasText: 'A message can carry up to 10 files: the first 10 were added.' }).waitFor();
  await page.getByTestId('composer-file').nth(9).waitFor();
  assert.equal(await page.getByTestId('composer-file').count(), 10);
  for (let i = 1; i <= 10; i++) await page.getByRole('button', { name: `Remove note${i}.txt` }).click();
  assert.equal(await page.getByTestId('composer-file').count(), 0);

  await attach(page, { name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MAX_FILE_BYTES + 1) });
  await page.getByTestId('composer-file').waitFor();
  await composer(page).fill('Too big?');
  await composer(page).press('Enter');
  await waitForMessage(page, 'Too big?', 'failed');
  assert.match(await bubble(page, 'Too big?').getByRole('alert').textContent(), /“huge\.bin” is too large: files can be up to 1\.9 MB\./);
  await bubble(page, 'Too big?').getByRole('button', { name: 'Delete' }).click();
  await bubble(page, 'Too big?').waitFor({ state: 'detached' });
  assertNoErrors(watch);
  await context.close();
});

test('a reload during an upload leaves the message not sent, with Delete only', async () => {
  const { page, watch, context } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await openConversation(page, 'Bob Stone');
  // The PUT is held (CDP Fetch) until the page goes away.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/v1/media/*/content*', requestStage: 'Request' }] });
  const held = new Promise((resolve) => cdp.once('Fetch.requestPaused', resolve));
  await attach(page, { name: 'draft.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') });
  await page.getByTestId('composer-file').waitFor();
  await composer(page).fill('Before the reload');
  await composer(page).press('Enter');
  await held;
  await cdp.send('Fetch.disable');
  watch.allow([/Failed to load resource/]);
  await page.reload();
  const message = bubble(page, 'Before the reload');
  await message.and(page.locator('[data-status="failed"]')).waitFor();
  assert.match(await message.getByRole('alert').textContent(), /The page was closed before its files were sent/);
  assert.equal(await message.getByRole('button', { name: 'Retry' }).count(), 0);
  await message.getByRole('button', { name: 'Delete' }).click();
  await message.waitFor({ state: 'detached' });
  watch.allow([]);
  assertNoErrors(watch);
  await context.close();
});

test('after a reload the pictures show again', async () => {
  const { page, watch, context } = await openPage(browser, server.base, 'bob');
  await signIn(page, 'bob');
  await openConversation(page, 'Alice Liddell');
  await waitForMessage(page, 'Look at this sunset');
  const image = () => bubble(page, 'Look at this sunset').getByTestId('attachment-image');
  assert.ok(await loadedWidth(image()) > 0);
  // Every media.urls request the page makes from now on, with the ids it asks for.
  const asked = [];
  page.on('websocket', (socket) => socket.on('framesent', (frame) => {
    const message = JSON.parse(String(frame.payload));
    if (message.type === 'media.urls') asked.push(...message.media_ids);
  }));
  await page.reload();
  await waitForMessage(page, 'Look at this sunset');
  assert.ok(await loadedWidth(image()) > 0, 'shown again after the reload');
  const events = await api.allEvents(users.bob.token, conversationId);
  const sunset = events.find((event) => event.text === 'Look at this sunset').attachments[0].id;
  assert.ok(asked.includes(sunset), 'its URL was asked for again');
  assertNoErrors(watch);
  await context.close();
});

test('an expired URL is asked for again: the lightbox and the download get fresh ones', async () => {
  // A server whose download URLs live 10 s (the least it allows).
  const short = await Parleyd.launch(['--media.download_url_ttl_s', '10']);
  try {
    const shortApi = new Api(short.base);
    const alice = await shortApi.register('alice', 'Alice Liddell');
    const bob = await shortApi.register('bob', 'Bob Stone');
    const photo = await uploadFile(shortApi, alice.token, 'dusk.png', 'image/png', png(90, 60));
    const { conversation_id: id } = await shortApi.sendToUser(alice.token, bob.user.id, 'Hi');
    await shortApi.sendWith(alice.token, id, 'At dusk', { attachments: [{ media_id: photo.id }] });

    const { page, watch, context } = await openPage(browser, short.base, 'bob');
    const asked = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => {
      const message = JSON.parse(String(frame.payload));
      if (message.type === 'media.urls') asked.push(message.media_ids);
    }));
    await signIn(page, 'bob');
    await openConversation(page, 'Alice Liddell');
    await waitForMessage(page, 'At dusk');
    const image = bubble(page, 'At dusk').getByTestId('attachment-image');
    assert.ok(await loadedWidth(image) > 0);
    const first = new URL(await image.getAttribute('src'));
    // Wait until the page's own clock says the thumbnail's URL has expired.
    await page.waitForFunction((expires) => Date.now() / 1000 > expires, Number(first.searchParams.get('expires')), { timeout: 20_000 });
    const before = asked.length;
    await bubble(page, 'At dusk').getByRole('button', { name: 'Open Photo dusk.png' }).click();
    const lightbox = page.getByRole('dialog', { name: 'dusk.png' });
    assert.equal(await loadedWidth(lightbox.getByTestId('lightbox-image')), 90, 'the full image loads with a new URL');
    assert.ok(asked.length > before, 'media.urls was asked again');
    const href = new URL(await lightbox.getByRole('link', { name: 'Download dusk.png' }).getAttribute('href'));
    assert.ok(Number(href.searchParams.get('expires')) > Number(first.searchParams.get('expires')), 'the download link has the fresh URL');
    await page.keyboard.press('Escape');
    assertNoErrors(watch);
    await context.close();
  } finally {
    await short.dispose();
  }
});
