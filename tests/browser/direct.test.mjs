// Two people in two browser contexts: sign up, start a direct chat by username, talk both ways.
// Checks the ticks (pending → sent), the sidebar (order, preview, unread badge), the tab title,
// a notification while the tab is hidden, Shift+Enter, and sign-out / sign-in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertNoErrors, assertTickProgress, composer, conversationRow, openConversation, readMessages, recordStatuses,
  sendMessage, signIn, signOut, signUp, startDirectChat, statusHistory, waitForMessage,
} from './lib/app.mjs';
import { Api } from './lib/api.mjs';
import { launchBrowser, openPage, screenshot } from './lib/browser.mjs';
import { Parleyd } from './lib/parleyd.mjs';

let server;
let browser;

before(async () => {
  server = await Parleyd.launch();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('two users sign up, start a direct chat and exchange messages', async () => {
  const alice = await openPage(browser, server.base, 'alice');
  const bob = await openPage(browser, server.base, 'bob');
  // Bob's tab will be "hidden": notifications are granted and recorded instead of shown.
  await bob.context.grantPermissions(['notifications']);
  await bob.page.addInitScript(() => {
    window.__notifications = [];
    window.Notification = class extends EventTarget {
      static permission = 'granted';
      static requestPermission = async () => 'granted';
      constructor(title, options) {
        super();
        window.__notifications.push({ title, body: options?.body ?? '' });
      }
      close() {}
    };
  });

  await signUp(alice.page, 'alice', 'Alice Liddell');
  await signUp(bob.page, 'bob', 'Bob Stone');
  await screenshot(alice.page, 'empty-list');

  // Alice starts the chat by username and writes first; the bubble goes pending → sent (and on:
  // Bob is online, so it is delivered soon after; live.test.mjs follows the ticks to read).
  await startDirectChat(alice.page, 'bob');
  await alice.page.getByRole('region', { name: 'Conversation with Bob Stone' }).waitFor();
  await recordStatuses(alice.page);
  await sendMessage(alice.page, 'Hi Bob! Lunch at noon?');
  await waitForMessage(alice.page, 'Hi Bob! Lunch at noon?', 'sent');
  assertTickProgress(await statusHistory(alice.page, 'Hi Bob! Lunch at noon?'), 'first message');
  assert.equal(await composer(alice.page).inputValue(), '', 'the composer is cleared after sending');

  // Bob's tab is hidden: he gets a notification, the unread badge and the count in the title.
  await bob.page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await sendMessage(alice.page, 'I found a new place near the station.');
  await waitForMessage(alice.page, 'I found a new place near the station.', 'sent');
  const row = conversationRow(bob.page, 'Alice Liddell');
  await row.getByTestId('unread-badge').filter({ hasText: '2' }).waitFor();
  await bob.page.waitForFunction(() => document.title === '(2) Parley');
  await bob.page.waitForFunction(() => window.__notifications.length >= 1);
  const notifications = await bob.page.evaluate(() => window.__notifications);
  assert.equal(notifications[0].title, 'Alice Liddell');
  assert.equal(notifications[0].body, 'I found a new place near the station.');
  assert.match(await row.textContent(), /I found a new place near the station\./, 'the row previews the last message');
  await screenshot(bob.page, 'unread-badge');

  // Back in view, Bob opens the chat: the badge and the title count go away.
  await bob.page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await openConversation(bob.page, 'Alice Liddell');
  await waitForMessage(bob.page, 'Hi Bob! Lunch at noon?');
  await row.getByTestId('unread-badge').waitFor({ state: 'detached' });
  await bob.page.waitForFunction(() => document.title === 'Parley');

  // Bob answers over two lines (Shift+Enter), Alice sees it live.
  await recordStatuses(bob.page);
  const box = composer(bob.page);
  await box.fill('Noon works.');
  await box.press('Shift+Enter');
  await box.pressSequentially('See you there!');
  await box.press('Enter');
  await waitForMessage(bob.page, 'See you there!', 'sent');
  assertTickProgress(await statusHistory(bob.page, 'Noon works.\nSee you there!'), 'two-line message');
  await waitForMessage(alice.page, 'See you there!');
  const aliceView = await readMessages(alice.page);
  assert.deepEqual(aliceView.map((m) => m.text), ['Hi Bob! Lunch at noon?', 'I found a new place near the station.', 'Noon works.\nSee you there!']);
  assert.deepEqual(aliceView.map((m) => m.seq), [1, 2, 3]);

  // A few more both ways, quickly: order and seqs stay exact on both sides.
  for (let i = 1; i <= 3; i++) {
    await sendMessage(alice.page, `ping ${i}`);
    await sendMessage(bob.page, `pong ${i}`);
  }
  await waitForMessage(alice.page, 'pong 3');
  await waitForMessage(bob.page, 'ping 3');
  for (const page of [alice.page, bob.page]) {
    await page.locator('[data-testid="message"][data-status="pending"]').waitFor({ state: 'detached' });
    const seqs = (await readMessages(page)).map((m) => m.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'nine messages, no gap, no duplicate');
  }
  await screenshot(alice.page, 'direct-chat');
  await alice.page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(alice.page, 'direct-chat-dark');
  await alice.page.emulateMedia({ colorScheme: 'light' });

  // The server stored exactly what the screens show.
  const api = new Api(server.base);
  const { token } = await api.login('alice');
  const [conversation] = await api.conversations(token);
  const stored = await api.allEvents(token, conversation.id);
  assert.deepEqual(stored.map((e) => e.text), (await readMessages(bob.page)).map((m) => m.text));

  // Sign out, sign in again: the chat is still there.
  await signOut(alice.page);
  assert.equal(await alice.page.evaluate(() => localStorage.getItem('parley.session')), null, 'sign-out forgets the token');
  await signIn(alice.page, 'alice');
  await openConversation(alice.page, 'Bob Stone');
  await waitForMessage(alice.page, 'pong 3');

  assertNoErrors(alice.watch, bob.watch);
  await alice.context.close();
  await bob.context.close();
});
