// Web Push (issue 15) in the browser: the service worker the app registers (/sw.js) shows the
// server's notification and a click on it opens the conversation; Settings → Notifications.
//
// No push service of the internet is reachable here, so Chromium's own pushManager.subscribe()
// cannot succeed (it needs Google's FCM). What is real and what stands in:
// - the server side is real: parleyd (allowed to POST to a loopback http:// endpoint) sends its
//   RFC 8291-encrypted, VAPID-signed request to a push service this test runs on 127.0.0.1;
// - Bob's subscription is registered through the protocol (REST, with his browser's token), with
//   a P-256 key pair and auth secret made here, as pushManager.subscribe() would have made them;
// - the test decrypts the request with http_ece (a test-only dependency) and hands the plaintext
//   to Bob's service worker with the DevTools protocol (ServiceWorker.deliverPushMessage, sent
//   again while nothing shows: under load Chromium sometimes drops it silently): a
//   real, trusted `push` event, in place of the browser's push service connection;
// - nothing can click a system notification (no DevTools command does), so the click runs the
//   worker's own `notificationclick` logic (self.parley.onNotificationClick) on the real
//   notification from registration.getNotifications(): the browser's dispatch of the event is
//   the one step not exercised.
// Bob is away for the send: his tab is hidden, the app says presence.set away, and the server
// notifies a user who is not attentive at once (protocol "Push notifications").
import assert from 'node:assert/strict';
import { test, after } from 'node:test';
import { assertNoErrors, bubble, conversationRow, openSettings, sessionToken, setVisibility, signIn } from './lib/app.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DESKTOP, ErrorWatch, openPage } from './lib/browser.mjs';
import { decrypt, deviceKeys, PUSH_ARGS, startPushService } from './lib/push.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers'], ['dave', 'Dave Lister']],
  args: PUSH_ARGS,
});

/** The push service on loopback (lib/push.mjs): every request it got, and a wait for the next. */
const pushService = await startPushService();
const { received } = pushService;
const pushBase = pushService.base;
const nextPush = (path, from) => pushService.next(path, from);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The DevTools session of a page, with the service worker registrations it reports. */
async function serviceWorkerDevTools(context, page) {
  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) registrations.set(r.scopeURL, r);
  });
  await cdp.send('ServiceWorker.enable');
  return {
    cdp,
    async registrationId(scope) {
      const deadline = Date.now() + 10_000;
      while (!registrations.get(scope) || registrations.get(scope).isDeleted) {
        if (Date.now() > deadline) throw new Error(`no service worker registration for ${scope}`);
        await sleep(50);
      }
      return registrations.get(scope).registrationId;
    },
  };
}

/** Chromium with a user-data directory of its own (not off the record), one page, its errors watched. */
async function openProfile(label) {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-push-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-component-update', '--disable-sync'],
    baseURL: server.base,
    viewport: DESKTOP,
    locale: 'en-GB',
  });
  context.setDefaultTimeout(15_000);
  after(() => rmSync(dir, { recursive: true, force: true }));
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page, watch: new ErrorWatch(page, label) };
}

/** The notifications the app's service worker shows now (registration.getNotifications()). */
function shownNotifications(page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const list = await registration.getNotifications();
    return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, renotify: n.renotify, data: n.data }));
  });
}

async function waitForNotifications(page, predicate, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const list = await shownNotifications(page);
    if (predicate(list)) return list;
    if (Date.now() > deadline) throw new Error(`notifications not as expected: ${JSON.stringify(list)}`);
    await sleep(100);
  }
}

/**
 * Hands a push's plaintext to the worker (ServiceWorker.deliverPushMessage) until the
 * notifications are as expected. Chromium drops the message without a word when the
 * registration is not found as ready (its delivery status goes to a no-op callback). Seen
 * under CPU load right after the worker activated, most likely before the registration was
 * stored: the worker was running, nothing showed for 10 s, and a second delivery showed at
 * once. Each try is the same notification with the same tag, so a late first one only
 * replaces itself.
 */
async function deliverUntilShown(page, devtools, registrationId, data, predicate) {
  for (let attempt = 1; ; attempt++) {
    await devtools.cdp.send('ServiceWorker.deliverPushMessage', { origin: server.base, registrationId: String(registrationId), data });
    try {
      return await waitForNotifications(page, predicate, 2_000);
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
}

test('a message to Bob while he is away: encrypted push, the service worker shows it, a click opens the chat', async () => {
  const { alice, bob } = users;
  const opened = await api.sendToUser(alice.token, bob.user.id, 'Hi Bob');
  const chatId = opened.conversation_id;

  const b = await openPage(browser, server.base, 'bob');
  await b.context.grantPermissions(['notifications'], { origin: server.base });
  const devtools = await serviceWorkerDevTools(b.context, b.page);
  await signIn(b.page, 'bob');
  // The app registers its service worker on load (no permission asked for that).
  const scriptURL = await b.page.evaluate(async () => (await navigator.serviceWorker.ready).active.scriptURL);
  assert.equal(scriptURL, `${server.base}/sw.js`);
  const registrationId = await devtools.registrationId(`${server.base}/`);

  // Bob's subscription, registered with his browser's token (this_device for that sign-in).
  const keys = deviceKeys();
  const endpoint = `${pushBase}/push/bob-browser`;
  const token = await sessionToken(b.page);
  const { subscription } = await api.call(token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint, keys: keys.json });
  assert.equal(subscription.this_device, true);
  const listed = await b.page.evaluate(async () => {
    // What Settings would see: push.subscriptions over the app's own connection is not exposed,
    // so ask over REST with the page's token.
    const token = JSON.parse(localStorage.getItem('parley.session')).token;
    const response = await fetch('/v1/push/subscriptions', { headers: { Authorization: `Bearer ${token}` } });
    return (await response.json()).subscriptions;
  });
  assert.deepEqual(listed.map((s) => [s.endpoint, s.this_device]), [[endpoint, true]]);

  // Bob's tab goes to the background: the app says presence.set away.
  await setVisibility(b.page, 'hidden');
  await sleep(300);
  const before = received.length;
  await api.sendToUser(alice.token, bob.user.id, 'Lunch at noon? 🍜');
  const request = await nextPush('/push/bob-browser', before);
  assert.equal(request.method, 'POST');
  assert.equal(request.headers['content-encoding'], 'aes128gcm');
  assert.equal(request.headers.topic, `c${chatId}`);
  assert.equal(request.headers.urgency, 'high');
  assert.match(request.headers.authorization, /^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
  const plaintext = decrypt(request, keys);
  const notification = JSON.parse(plaintext);
  assert.equal(notification.type, 'message');
  assert.equal(notification.conversation_id, chatId);
  assert.equal(notification.count, 1);
  assert.equal(notification.sender.name, 'Alice Liddell');
  assert.equal(notification.conversation.kind, 'direct');
  assert.equal(notification.text, 'Lunch at noon? 🍜');

  // Delivered to Bob's service worker as the browser's push service would.
  const [shown] = await deliverUntilShown(b.page, devtools, registrationId, plaintext, (list) => list.length === 1);
  assert.deepEqual(shown, {
    title: 'Alice Liddell',
    body: 'Lunch at noon? 🍜',
    tag: `c${chatId}`,
    renotify: true,
    data: { conversation_id: chatId, seq: notification.seq },
  });

  // A reaction to Bob's message notifies him too; in the same conversation it replaces the
  // notification (same tag).
  const mine = await api.sendToUser(bob.token, alice.user.id, 'See you there');
  const reactedFrom = received.length;
  await api.react(alice.token, chatId, mine.seq, '👍');
  const reaction = decrypt(await nextPush('/push/bob-browser', reactedFrom), keys);
  assert.equal(JSON.parse(reaction).type, 'reaction');
  const [replaced] = await deliverUntilShown(b.page, devtools, registrationId, reaction, (list) => list.length === 1 && list[0].body !== shown.body);
  assert.equal(replaced.title, 'Alice Liddell');
  assert.equal(replaced.body, 'reacted 👍 to: See you there');
  assert.equal(replaced.tag, `c${chatId}`);

  // The click: Bob's window (on the list) is told to open the conversation.
  await setVisibility(b.page, 'visible');
  await b.page.goto('/');
  await conversationRow(b.page, 'Alice Liddell').waitFor();
  const worker = b.context.serviceWorkers().find((w) => w.url() === `${server.base}/sw.js`) ?? (await b.context.waitForEvent('serviceworker'));
  await worker.evaluate(async (tag) => {
    const [n] = await self.registration.getNotifications({ tag });
    await self.parley.onNotificationClick(n);
  }, `c${chatId}`);
  await b.page.waitForURL(`${server.base}/c/${chatId}`);
  await bubble(b.page, 'Lunch at noon? 🍜').waitFor();
  assert.deepEqual(await shownNotifications(b.page), [], 'the clicked notification is closed');

  // Bob now reads this chat in a focused window: the worker asks the window (a message port),
  // and a push for this chat shows nothing; for another conversation it does. (Chromium does
  // not require a notification while a tab of the site is visible.)
  const asked = await worker.evaluate(async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    return Promise.all(windows.map((client) => self.parley.askWindow(client)));
  });
  assert.deepEqual(asked, [{ conversation_id: chatId, attentive: true }]);
  await worker.evaluate((id) => self.parley.onPush({ type: 'message', conversation_id: id, seq: 99, count: 1, mention: false, ts: Date.now(), text: 'x' }), chatId);
  assert.deepEqual(await shownNotifications(b.page), [], 'not shown over the open chat');
  await worker.evaluate(() => self.parley.onPush({ type: 'message', conversation_id: 424242, seq: 1, count: 1, mention: false, ts: Date.now(), text: 'elsewhere' }));
  assert.deepEqual((await shownNotifications(b.page)).map((n) => [n.tag, n.body]), [['c424242', 'elsewhere']]);
  await worker.evaluate(async () => (await self.registration.getNotifications()).forEach((n) => n.close()));

  // How other notification objects read (the worker's own function): a group, several
  // collapsed messages, and push.content = none (no sender, no text).
  const described = await worker.evaluate(() => [
    self.parley.describe({ type: 'message', conversation_id: 7, seq: 3, count: 1, mention: false, ts: 1, sender: { id: 2, name: 'Alice' }, conversation: { kind: 'group', title: 'Team' }, text: 'lunch?' }),
    self.parley.describe({ type: 'message', conversation_id: 7, seq: 5, count: 3, mention: false, ts: 1, sender: { id: 2, name: 'Alice' }, conversation: { kind: 'group', title: 'Team' }, text: 'lunch?' }),
    self.parley.describe({ type: 'message', conversation_id: 8, seq: 1, count: 1, mention: false, ts: 1 }),
  ].map(({ title, options }) => [title, options.body, options.tag]));
  assert.deepEqual(described, [
    ['Team', 'Alice: lunch?', 'c7'],
    ['Team', '3 new messages', 'c7'],
    ['New message', 'Open Parley to read it', 'c8'],
  ]);

  // With no window of the app open, the click opens one (clients.openWindow). The browser allows
  // that only inside a notificationclick it dispatched itself (a user's click), so here the call
  // is refused: this shows the path is taken, not the window it would open.
  const blank = await b.context.newPage();
  await b.page.close();
  await assert.rejects(
    worker.evaluate(async (id) => {
      await self.parley.onPush({ type: 'message', conversation_id: id, seq: 9, count: 1, mention: false, ts: Date.now(),
        sender: { id: 1, name: 'Alice Liddell' }, conversation: { kind: 'direct' }, text: 'Are you there?' });
      const [n] = await self.registration.getNotifications({ tag: `c${id}` });
      await self.parley.onNotificationClick(n);
    }, chatId),
    /Not allowed to open a window/,
  );
  await blank.close();
  assertNoErrors(b.watch);
  await b.context.close();
});

test('Settings → Notifications: asked only on the click; granted but no reachable push service fails with the reason; denied is blocked', async (t) => {
  const { carol } = users;
  // A browser with a profile on disk: Playwright's new contexts are off the record, where
  // Chromium has no Push API at all (it says so on the console).
  const c = await openProfile('carol');
  await c.context.grantPermissions(['notifications'], { origin: server.base });
  // Counts the app's permission requests (the real one still runs).
  await c.context.addInitScript(() => {
    const ask = Notification.requestPermission.bind(Notification);
    window.__permissionRequests = 0;
    Notification.requestPermission = (...args) => {
      window.__permissionRequests += 1;
      return ask(...args);
    };
  });
  await signIn(c.page, 'carol');
  const asked = () => c.page.evaluate(() => window.__permissionRequests);
  const settings = await openSettings(c.page);
  const section = settings.getByRole('region', { name: 'Notifications' });
  const toggle = section.getByRole('switch', { name: 'Notifications on this device' });
  await section.locator('[data-testid="push-state"][data-state="off"]').waitFor();
  assert.equal(await toggle.isChecked(), false);
  assert.equal(await asked(), 0, 'no permission prompt on load or on opening Settings');
  // On: the permission is granted, the worker registered, and pushManager.subscribe() fails, as
  // it must here (Chromium's push service is Google's, out of reach): the reason is shown.
  await toggle.click();
  const failed = section.locator('[data-testid="push-state"][data-state="failed"]');
  await failed.waitFor({ timeout: 30_000 });
  assert.equal(await failed.getAttribute('role'), 'alert');
  const reason = await failed.textContent();
  t.diagnostic(`subscribing without a push service: "${reason}"`);
  assert.equal(await asked(), 1);
  assert.equal(await c.page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/'))?.active?.scriptURL), `${server.base}/sw.js`);
  assert.match(reason, /^Could not turn on notifications: \S/);
  assert.equal(await toggle.isChecked(), false);
  assert.deepEqual((await api.call(carol.token, 'GET', '/v1/push/subscriptions')).subscriptions, [], 'nothing registered');
  assertNoErrors(c.watch);
  await c.context.close();

  // Denied by the browser: "blocked", and the switch cannot be used.
  const d = await openPage(browser, server.base, 'dave');
  const cdp = await d.context.newCDPSession(d.page);
  const { targetInfo } = await cdp.send('Target.getTargetInfo');
  await cdp.send('Browser.setPermission', {
    permission: { name: 'notifications' }, setting: 'denied', origin: server.base, browserContextId: targetInfo.browserContextId,
  });
  await signIn(d.page, 'dave');
  const blocked = (await openSettings(d.page)).getByRole('region', { name: 'Notifications' });
  await blocked.locator('[data-testid="push-state"][data-state="blocked"]').waitFor();
  assert.match(await blocked.getByTestId('push-state').textContent(), /^Blocked by the browser/);
  assert.equal(await blocked.getByRole('switch', { name: 'Notifications on this device' }).isDisabled(), true);
  assertNoErrors(d.watch);
  await d.context.close();
});

test('muting a chat from its info panel: the server keeps it and sends no push for it', async () => {
  const { alice, dave } = users;
  const chat = await api.sendToUser(alice.token, dave.user.id, 'Hello Dave');
  const keys = deviceKeys();
  const endpoint = `${pushBase}/push/dave`;
  await api.call(dave.token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint, keys: keys.json });
  // Unmuted, Dave (no session open) is notified.
  let from = received.length;
  await api.sendToUser(alice.token, dave.user.id, 'First');
  assert.equal(JSON.parse(decrypt(await nextPush('/push/dave', from), keys)).text, 'First');

  const d = await openPage(browser, server.base, 'dave');
  await signIn(d.page, 'dave');
  await conversationRow(d.page, 'Alice Liddell').click();
  await d.page.getByRole('button', { name: 'Details' }).click();
  const section = d.page.getByRole('complementary', { name: 'Conversation details' }).getByRole('region', { name: 'Chat notifications' });
  assert.equal(await section.getByTestId('mute-state').textContent(), 'On');
  await section.getByRole('button', { name: 'Mute always' }).click();
  await section.getByTestId('mute-state').filter({ hasText: /^Muted$/ }).waitFor();
  await conversationRow(d.page, 'Alice Liddell').getByTestId('row-muted').waitFor();
  const kept = (await api.conversations(dave.token)).find((c) => c.id === chat.conversation_id);
  assert.equal(kept.muted_until, -1);
  await d.context.close();

  // Muted: nothing is sent (a later unmuted chat's push arrives, this one's never does).
  from = received.length;
  await api.sendToUser(alice.token, dave.user.id, 'Second, muted');
  const { carol } = users;
  const other = await api.sendToUser(carol.token, dave.user.id, 'From Carol');
  const next = JSON.parse(decrypt(await nextPush('/push/dave', from), keys));
  assert.equal(next.conversation_id, other.conversation_id);
  await sleep(500);
  assert.equal(received.slice(from).filter((r) => r.url === '/push/dave').length, 1);
});
