// Connection handling. A reload keeps the session and the history; parleyd is stopped and
// started again (same port, same data) mid-conversation: the banner shows, the client
// reconnects with backoff, catches up from its saved cursor, and the message written while
// offline is delivered exactly once. Then a lost ack and a lost send (WebSocket routing): the
// retry uses the same client_msg_id and the message still exists once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertContiguous, assertNoErrors, assertTickProgress, composer, conversationRow, openConversation, readMessages, readSeqs,
  recordStatuses, sendMessage, signIn, startDirectChat, statusHistory, waitForMessage, waitLive,
} from './lib/app.mjs';
import { Api } from './lib/api.mjs';
import { launchBrowser, openPage, OUTAGE_ERRORS, screenshot } from './lib/browser.mjs';
import { Parleyd } from './lib/parleyd.mjs';

let server;
let browser;
let api;
const tokens = {};

before(async () => {
  server = await Parleyd.launch();
  browser = await launchBrowser();
  api = new Api(server.base);
  for (const [name, display] of [['alice', 'Alice Liddell'], ['bob', 'Bob Stone']]) {
    tokens[name] = (await api.register(name, display)).token;
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Texts of the stored text events of a conversation, as the server has them. */
async function storedTexts(conversationId) {
  const events = await api.allEvents(tokens.bob, conversationId);
  assertContiguous(events.map((e) => e.seq), 'stored events');
  return events.filter((e) => e.kind === 'text').map((e) => e.text);
}

test('reload keeps the session and history; a server restart is survived without loss or duplicates', async () => {
  const alice = await openPage(browser, server.base, 'alice');
  const bob = await openPage(browser, server.base, 'bob');
  await signIn(alice.page, 'alice');
  await signIn(bob.page, 'bob');

  await startDirectChat(alice.page, 'bob');
  await sendMessage(alice.page, 'Are you there?');
  await waitForMessage(alice.page, 'Are you there?');
  await openConversation(bob.page, 'Alice Liddell');
  await sendMessage(bob.page, 'Yes, here.');
  await waitForMessage(alice.page, 'Yes, here.');
  const conversationId = Number(new URL(alice.page.url()).pathname.split('/').pop());

  // Reload: still signed in, same conversation, same history.
  await alice.page.reload();
  await alice.page.getByRole('region', { name: 'Conversation with Bob Stone' }).waitFor();
  await waitLive(alice.page);
  assert.deepEqual((await readMessages(alice.page)).map((m) => m.text), ['Are you there?', 'Yes, here.']);
  const cached = await alice.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley.')).sort());
  assert.ok(cached.includes('parley.session'), 'the token is kept in localStorage');
  assert.ok(cached.some((k) => /^parley\.u\d+\.meta$/.test(k)), 'the cursor and conversations are cached');

  // Bob is online for Alice (header and list) while she is connected.
  const header = alice.page.getByRole('region', { name: 'Conversation with Bob Stone' }).locator('.conversation__header');
  const bobRow = conversationRow(alice.page, 'Bob Stone');
  await header.getByText('online', { exact: true }).waitFor();
  await bobRow.locator('.avatar__presence--online').waitFor();

  // Stop parleyd: both pages show the banner.
  alice.watch.allow(OUTAGE_ERRORS);
  bob.watch.allow(OUTAGE_ERRORS);
  await server.stop();
  for (const page of [alice.page, bob.page]) {
    await page.getByTestId('connection-banner').getByText(/Connection lost/).waitFor();
  }
  // Disconnected, Alice cannot know whether Bob is still online: his presence is not shown.
  assert.equal(await header.getByText('online', { exact: true }).count(), 0, 'no "online" while disconnected');
  assert.equal(await bobRow.locator('.avatar__presence').count(), 0, 'no presence dot while disconnected');
  assert.equal(await header.locator('.avatar__presence').count(), 0, 'no presence dot in the header either');
  await screenshot(alice.page, 'connection-lost');

  // Alice writes while offline: the message waits, marked pending.
  await recordStatuses(alice.page);
  await sendMessage(alice.page, 'Written while the server was down');
  await waitForMessage(alice.page, 'Written while the server was down', 'pending');
  assert.equal(await composer(alice.page).inputValue(), '');

  // Start parleyd again on the same port with the same data. Bob writes over REST at once, so
  // Alice has something to catch up on whether her reconnect comes before or after it.
  await server.start();
  await api.send(tokens.bob, conversationId, 'Sent while Alice was reconnecting');
  for (const page of [alice.page, bob.page]) await waitLive(page, 45_000);
  await alice.page.getByTestId('connection-banner').getByText(/Connection lost/).waitFor({ state: 'detached' });
  await header.getByText('online', { exact: true }).waitFor();  // known again
  alice.watch.allow([]);
  bob.watch.allow([]);

  await waitForMessage(alice.page, 'Written while the server was down', 'sent');
  await waitForMessage(alice.page, 'Sent while Alice was reconnecting');
  await waitForMessage(bob.page, 'Written while the server was down');
  await waitForMessage(bob.page, 'Sent while Alice was reconnecting');
  assertTickProgress(await statusHistory(alice.page, 'Written while the server was down'), 'written offline');

  const expected = await storedTexts(conversationId);
  assert.equal(expected.filter((t) => t === 'Written while the server was down').length, 1, 'stored exactly once');
  for (const page of [alice.page, bob.page]) {
    assertContiguous(await readSeqs(page), 'after the restart');
    const texts = (await readMessages(page)).map((m) => m.text).sort();
    assert.deepEqual(texts, [...expected].sort(), 'each page shows every message exactly once');
  }

  // Another reload after all that: the cached state and the server agree.
  await bob.page.reload();
  await waitLive(bob.page);
  await waitForMessage(bob.page, 'Written while the server was down');
  assert.deepEqual((await readMessages(bob.page)).map((m) => m.text), expected);

  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});

test('a lost ack or a lost send is retried with the same client_msg_id and stored once', async () => {
  const alice = await openPage(browser, server.base, 'alice');
  const bob = await openPage(browser, server.base, 'bob');
  // Alice's WebSocket goes through the test: it can drop one frame and cut the connection.
  const sent = [];
  let cut = null; // { direction: 'ack' | 'send', text }
  let connections = 0;
  await alice.page.routeWebSocket(/\/ws$/, (ws) => {
    connections++;
    const upstream = ws.connectToServer();
    let pendingAckFor = null;
    ws.onMessage((message) => {
      const frame = JSON.parse(message);
      if (frame.type === 'send') sent.push(frame);
      if (cut && frame.type === 'send' && frame.text === cut.text) {
        if (cut.direction === 'send') {
          cut = null; // the server never sees it
          ws.close({ code: 4000, reason: 'test: connection cut' });
          upstream.close();
          return;
        }
        pendingAckFor = frame.client_msg_id;
      }
      upstream.send(message);
    });
    upstream.onMessage((message) => {
      const frame = JSON.parse(message);
      if (pendingAckFor && frame.type === 'ack' && frame.client_msg_id === pendingAckFor) {
        pendingAckFor = null;
        cut = null; // stored, but the client never hears so
        ws.close({ code: 4000, reason: 'test: connection cut' });
        upstream.close();
        return;
      }
      ws.send(message);
    });
  });
  await signIn(alice.page, 'alice');
  await signIn(bob.page, 'bob');
  await openConversation(alice.page, 'Bob Stone');
  await openConversation(bob.page, 'Alice Liddell');
  const conversationId = Number(new URL(alice.page.url()).pathname.split('/').pop());
  await recordStatuses(alice.page);

  for (const direction of ['ack', 'send']) {
    const text = `lost ${direction}, retried`;
    cut = { direction, text };
    const before = sent.length;
    const connectionsBefore = connections;
    await sendMessage(alice.page, text);
    await waitForMessage(alice.page, text, 'sent', 30_000);
    await waitForMessage(bob.page, text);
    assertTickProgress(await statusHistory(alice.page, text), text);
    assert.equal(cut, null, `the ${direction} was dropped`);
    assert.equal(connections, connectionsBefore + 1, 'the client reconnected once');
    const attempts = sent.slice(before).filter((frame) => frame.text === text);
    assert.ok(attempts.length >= 1);
    assert.equal(new Set(attempts.map((frame) => frame.client_msg_id)).size, 1, 'every attempt uses the same client_msg_id');
    if (direction === 'send') assert.equal(attempts.length, 2, 'the lost send was sent again after the reconnect');
    assert.equal((await storedTexts(conversationId)).filter((t) => t === text).length, 1, 'stored exactly once');
    for (const page of [alice.page, bob.page]) {
      assert.equal((await readMessages(page)).filter((m) => m.text === text).length, 1, 'shown exactly once');
      assertContiguous(await readSeqs(page), `after the lost ${direction}`);
    }
  }

  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});
