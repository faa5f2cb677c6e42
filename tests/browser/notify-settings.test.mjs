// Notification preferences (issue 15): which messages of a chat notify (conversation.settings
// `notify`, in the chat's info panel), the account's pause (account.notifications: do not
// disturb and daily quiet hours, in Settings), and a push subscription that the browser's push
// service replaced (the service worker's `pushsubscriptionchange`, and the app's own check when
// it starts).
//
// Everything is checked against what parleyd keeps (REST with the same account) and, where it
// matters, against what it then sends to a push service this file runs on 127.0.0.1 (lib/push.mjs).
// What stands in, as in push.test.mjs, because Chromium's push service (Google's FCM) is out of
// reach: a browser subscription is made of keys generated here. No automation can make a push
// service replace a subscription, so the worker's own handler (self.parley.onSubscriptionChange)
// is called with the old and the new subscription; and for the app's start-up check, the page's
// PushManager.getSubscription() answers with such a subscription (an init script).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, conversationRow, openSettings, sessionToken, signIn, waitForFieldError, waitLive } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { decrypt, deviceKeys, PUSH_ARGS, startPushService } from './lib/push.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers'], ['dave', 'Dave Lister'], ['erin', 'Erin Hale']],
  args: PUSH_ARGS,
});
const push = await startPushService();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy (and returns that), or fails with `what`. */
async function waitUntil(probe, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const details = (page) => page.getByRole('complementary', { name: 'Conversation details' });
const levelChoice = (page) => details(page).getByRole('group', { name: 'Notify me about' });
const level = (page, name) => levelChoice(page).getByRole('radio', { name, exact: true });
/** Waits until the info panel shows this level (the value sent: default, all, mentions, none). */
const shownLevel = (page, value) => details(page).locator(`[data-testid="notify-level"][data-value="${value}"]`).waitFor();

async function openDetails(page, title) {
  await conversationRow(page, title).click();
  await page.getByRole('button', { name: 'Details' }).click();
  await levelChoice(page).waitFor();
}

/** The account's pause as parleyd keeps it (GET /v1/me/notifications). */
async function kept(token) {
  const reply = await api.call(token, 'GET', '/v1/me/notifications');
  return reply.notifications ?? reply;
}

/** The caller's Web Push entries: [endpoint, this_device] by creation. */
async function entries(token) {
  const { subscriptions } = await api.call(token, 'GET', '/v1/push/subscriptions');
  return subscriptions.map((s) => [s.endpoint, s.this_device]);
}

/** The app's service worker in a page's context. */
async function serviceWorker(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const url = `${server.base}/sw.js`;
  return page.context().serviceWorkers().find((w) => w.url() === url) ?? page.context().waitForEvent('serviceworker', (w) => w.url() === url);
}

test('a chat\'s notification level: set in its info panel, followed live by a second browser, kept, and obeyed by push', async () => {
  const { alice, bob, carol } = users;
  const bobChat = await api.sendToUser(bob.token, alice.user.id, 'Hello Alice');
  const carolChat = await api.sendToUser(carol.token, alice.user.id, 'Hi from Carol');
  await api.call(alice.token, 'POST', '/v1/channels', { title: 'Releases', topic: 'what ships' });
  const laptop = await openPage(browser, server.base, 'laptop');
  const phone = await openPage(browser, server.base, 'phone');
  for (const { page } of [laptop, phone]) {
    await signIn(page, 'alice');
    await openDetails(page, 'Bob Stone');
  }

  // A direct chat's default is every message; all four levels are offered.
  assert.deepEqual(
    await levelChoice(laptop.page).getByRole('radio').evaluateAll((radios) => radios.map((r) => [r.labels[0].textContent, r.checked])),
    [['Default (All messages)', true], ['All messages', false], ['Mentions only', false], ['Nothing', false]],
  );

  // Picked on the laptop, shown on the phone (conversation_settings), kept by the server.
  await level(laptop.page, 'Mentions only').check();
  await shownLevel(phone.page, 'mentions');
  assert.equal(await level(phone.page, 'Mentions only').isChecked(), true);
  await waitUntil(async () => (await api.conversations(alice.token)).find((c) => c.id === bobChat.conversation_id).notify === 'mentions', 'notify = mentions');

  // From the keyboard on the phone: the arrow key moves to "Nothing" and picks it.
  await level(phone.page, 'Mentions only').focus();
  await phone.page.keyboard.press('ArrowDown');
  await shownLevel(laptop.page, 'none');
  assert.equal(await level(laptop.page, 'Nothing').isChecked(), true);
  assert.match(await levelChoice(laptop.page).textContent(), /No notifications from this chat; it still counts as unread\./);
  await waitUntil(async () => (await api.conversations(alice.token)).find((c) => c.id === bobChat.conversation_id).notify === 'none', 'notify = none');
  // "Nothing" is not mute: the row has no muted flag.
  assert.equal(await conversationRow(laptop.page, 'Bob Stone').getByTestId('row-muted').count(), 0);

  // A channel's default is mentions only.
  await openDetails(laptop.page, 'Releases');
  assert.equal(await level(laptop.page, 'Default (Mentions only)').isChecked(), true);

  // A reload shows the level the server keeps.
  await laptop.page.reload();
  await waitLive(laptop.page);
  await openDetails(laptop.page, 'Bob Stone');
  await shownLevel(laptop.page, 'none');
  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();

  // No session open: Alice is notified of Carol's message, not of Bob's (his chat is "Nothing").
  const keys = deviceKeys();
  await api.call(alice.token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint: `${push.base}/push/alice`, keys: keys.json });
  const from = push.received.length;
  await api.sendToUser(bob.token, alice.user.id, 'Are you there?');
  await api.sendToUser(carol.token, alice.user.id, 'Carol again');
  const first = JSON.parse(decrypt(await push.next('/push/alice', from), keys));
  assert.equal(first.conversation_id, carolChat.conversation_id);
  const notified = push.received.slice(from).filter((r) => r.url === '/push/alice').map((r) => JSON.parse(decrypt(r, keys)).conversation_id);
  assert.ok(!notified.includes(bobChat.conversation_id), `nothing for Bob's chat: ${notified}`);
});

/** The hour of the day now in a time zone. */
function hourIn(timezone) {
  return Number(new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' }).format(Date.now()));
}
const hhmm = (hour) => `${String(((hour % 24) + 24) % 24).padStart(2, '0')}:00`;

test('do not disturb and quiet hours: set in Settings, followed live by a second browser, kept by the server, shown after a reload', async () => {
  const { erin } = users;
  const laptop = await openPage(browser, server.base, 'laptop');
  const phone = await openPage(browser, server.base, 'phone');
  const regions = [];
  for (const { page } of [laptop, phone]) {
    await signIn(page, 'erin');
    regions.push((await openSettings(page)).getByRole('region', { name: 'Do not disturb' }));
  }
  const [onLaptop, onPhone] = regions;
  const state = (region, value) => region.locator(`[data-testid="quiet-state"][data-state="${value}"]`);
  await state(onLaptop, 'on').waitFor();
  await state(onPhone, 'on').waitFor();
  assert.match(await onLaptop.textContent(), /all your devices/, 'says it is for the account, not this device');

  // An hour's pause on the laptop: paused on both, and at the server.
  await onLaptop.getByRole('button', { name: 'Pause for 1 hour' }).click();
  await state(onPhone, 'paused').waitFor();
  assert.match(await state(onLaptop, 'paused').textContent(), /^Paused until (today|tomorrow) at \d\d:\d\d\.$/);
  let notifications = await kept(erin.token);
  assert.ok(notifications.dnd_until > Date.now() && notifications.dnd_until <= Date.now() + 3_600_000, `dnd_until ${notifications.dnd_until}`);
  assert.equal(notifications.quiet_now, true);

  // Resumed on the phone.
  await onPhone.getByRole('button', { name: 'Resume notifications' }).click();
  await state(onLaptop, 'on').waitFor();
  notifications = await kept(erin.token);
  assert.equal(notifications.dnd_until, 0);
  assert.equal(notifications.quiet_now, false);

  // Until tomorrow 8:00 (the browser's time), then until turned off.
  await onLaptop.getByRole('button', { name: /^Pause until tomorrow \d\d:\d\d$/ }).click();
  await state(onPhone, 'paused').waitFor();
  assert.match(await state(onLaptop, 'paused').textContent(), /^Paused until tomorrow at 08:00\.$/);
  const until = (await kept(erin.token)).dnd_until;
  const local = await laptop.page.evaluate((ts) => {
    const date = new Date(ts);
    return { hours: date.getHours(), minutes: date.getMinutes(), ahead: ts - Date.now() };
  }, until);
  assert.deepEqual([local.hours, local.minutes], [8, 0]);
  assert.ok(local.ahead > 0 && local.ahead <= 32 * 3_600_000, `ahead by ${local.ahead} ms`);
  await onLaptop.getByRole('button', { name: 'Resume notifications' }).click();
  await state(onPhone, 'on').waitFor();
  await onLaptop.getByRole('button', { name: 'Pause until turned off' }).click();
  await state(onPhone, 'paused').filter({ hasText: 'Paused until you resume them.' }).waitFor();
  assert.equal((await kept(erin.token)).dnd_until, -1);
  // Turned off from elsewhere (REST: another device): both browsers follow.
  await api.call(erin.token, 'PATCH', '/v1/me/notifications', { dnd_until: 0 });
  await state(onLaptop, 'on').waitFor();
  await state(onPhone, 'on').waitFor();

  // Quiet hours: the time zone is the browser's own to begin with.
  const form = onLaptop.getByRole('form', { name: 'Quiet hours' });
  assert.equal(await form.getByLabel('Time zone').inputValue(), 'Europe/Amsterdam');
  // In Tokyo, from an hour ago to two hours ahead: quiet now.
  const tokyo = hourIn('Asia/Tokyo');
  const inside = { timezone: 'Asia/Tokyo', start: hhmm(tokyo - 1), end: hhmm(tokyo + 2) };
  await form.getByLabel('From').fill(inside.start);
  await form.getByLabel('To').fill(inside.end);
  await form.getByLabel('Time zone').fill(inside.timezone);
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  const described = `Every day from ${inside.start} to ${inside.end}, Asia/Tokyo time.`;
  for (const region of [onLaptop, onPhone]) {
    await region.getByTestId('quiet-schedule').filter({ hasText: described }).waitFor();
    await state(region, 'quiet').waitFor();
  }
  notifications = await kept(erin.token);
  assert.deepEqual(notifications.schedule, inside);
  assert.equal(notifications.quiet_now, true);
  assert.equal(notifications.dnd_until, 0);

  // Moved to hours ahead: not quiet now, here as at the server.
  const later = { timezone: 'Asia/Tokyo', start: hhmm(tokyo + 3), end: hhmm(tokyo + 5) };
  await form.getByLabel('From').fill(later.start);
  await form.getByLabel('To').fill(later.end);
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  await state(onPhone, 'on').waitFor();
  await onPhone.getByTestId('quiet-schedule').filter({ hasText: `from ${later.start} to ${later.end}` }).waitFor();
  notifications = await kept(erin.token);
  assert.deepEqual(notifications.schedule, later);
  assert.equal(notifications.quiet_now, false);

  // A zone the server does not know is refused at the field; nothing changes.
  await form.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await form.getByRole('button', { name: 'Save quiet hours' }).click();
  assert.equal(await waitForFieldError(form, 'Time zone'), 'Unknown time zone.');
  assert.deepEqual((await kept(erin.token)).schedule, later);

  // A reload shows what the server keeps.
  await laptop.page.reload();
  await waitLive(laptop.page);
  const reloaded = (await openSettings(laptop.page)).getByRole('region', { name: 'Do not disturb' });
  await reloaded.getByTestId('quiet-schedule').filter({ hasText: `Every day from ${later.start} to ${later.end}, Asia/Tokyo time.` }).waitFor();
  await state(reloaded, 'on').waitFor();
  const reloadedForm = reloaded.getByRole('form', { name: 'Quiet hours' });
  assert.deepEqual(
    [await reloadedForm.getByLabel('From').inputValue(), await reloadedForm.getByLabel('To').inputValue(), await reloadedForm.getByLabel('Time zone').inputValue()],
    [later.start, later.end, 'Asia/Tokyo'],
  );

  // Removed on the reloaded laptop: gone on the phone and at the server.
  await reloaded.getByRole('button', { name: 'Remove quiet hours' }).click();
  await onPhone.getByTestId('quiet-schedule').filter({ hasText: /^None/ }).waitFor();
  assert.equal((await kept(erin.token)).schedule, null);
  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();
});

test('a subscription the push service replaced: the worker hands it to the page, which registers it and removes the old one', async () => {
  const { bob, carol } = users;
  const b = await openPage(browser, server.base, 'bob');
  await b.context.grantPermissions(['notifications'], { origin: server.base });
  await signIn(b.page, 'bob');
  const token = await sessionToken(b.page);
  // This browser's subscription as the server has it, and one of Bob's other devices.
  const oldEndpoint = `${push.base}/push/bob-old`;
  const newEndpoint = `${push.base}/push/bob-new`;
  const otherEndpoint = `${push.base}/push/bob-phone`;
  await api.call(token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint: oldEndpoint, keys: deviceKeys().json });
  await api.call(bob.token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint: otherEndpoint, keys: deviceKeys().json });

  // The push service replaced it: the worker's handler gets the old and the new subscription.
  const keys = deviceKeys();
  const worker = await serviceWorker(b.page);
  const posted = await worker.evaluate(
    ({ oldEndpoint, newEndpoint, keys }) =>
      self.parley.onSubscriptionChange(
        { endpoint: oldEndpoint },
        { endpoint: newEndpoint, toJSON: () => ({ endpoint: newEndpoint, expirationTime: null, keys }) },
      ),
    { oldEndpoint, newEndpoint, keys: keys.json },
  );
  assert.deepEqual(posted, {
    type: 'push-subscription-changed',
    old_endpoint: oldEndpoint,
    subscription: { endpoint: newEndpoint, expirationTime: null, keys: keys.json },
  });

  // The page registered the new one under its sign-in and removed the old one; the other device's stays.
  await waitUntil(async () => {
    const list = await entries(token);
    return list.some(([endpoint]) => endpoint === newEndpoint) && !list.some(([endpoint]) => endpoint === oldEndpoint);
  }, 'the new endpoint in place of the old one');
  assert.deepEqual(await entries(token), [[otherEndpoint, false], [newEndpoint, true]]);
  assertNoErrors(b.watch);
  await b.context.close();

  // And the new endpoint is where Bob's notifications go now.
  const from = push.received.length;
  await api.sendToUser(carol.token, bob.user.id, 'New endpoint?');
  const notification = JSON.parse(decrypt(await push.next('/push/bob-new', from), keys));
  assert.equal(notification.text, 'New endpoint?');
});

test('on start with notifications on: the browser\'s subscription replaces a stale entry of this sign-in, and comes back if the server lost it', async () => {
  const { dave, carol } = users;
  const keys = deviceKeys();
  const currentEndpoint = `${push.base}/push/dave-browser`;
  const d = await openPage(browser, server.base, 'dave');
  await d.context.grantPermissions(['notifications'], { origin: server.base });
  // Stand-in for the browser's own subscription (see the top of this file).
  await d.context.addInitScript(({ endpoint, keys }) => {
    const subscription = {
      endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: null },
      toJSON: () => ({ endpoint, expirationTime: null, keys }),
      unsubscribe: async () => true,
    };
    PushManager.prototype.getSubscription = async () => subscription;
  }, { endpoint: currentEndpoint, keys: keys.json });
  await signIn(d.page, 'dave');
  const token = await sessionToken(d.page);
  const staleEndpoint = `${push.base}/push/dave-stale`;
  const phoneEndpoint = `${push.base}/push/dave-phone`;
  await api.call(token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint: staleEndpoint, keys: deviceKeys().json });
  await api.call(dave.token, 'POST', '/v1/push/subscriptions', { kind: 'webpush', endpoint: phoneEndpoint, keys: deviceKeys().json });

  // Dave had turned notifications on in this browser; the app starts again.
  await d.page.evaluate((id) => localStorage.setItem(`parley.push.${id}`, '1'), dave.user.id);
  await d.page.reload();
  await waitLive(d.page);
  await waitUntil(async () => !(await entries(token)).some(([endpoint]) => endpoint === staleEndpoint), 'the stale entry removed');
  assert.deepEqual(await entries(token), [[phoneEndpoint, false], [currentEndpoint, true]]);
  const settings = await openSettings(d.page);
  await settings.locator('[data-testid="push-state"][data-state="on"]').waitFor();
  // The app left the server's key with the worker, for a re-subscription with no window open.
  const worker = await serviceWorker(d.page);
  const stored = await waitUntil(() => worker.evaluate(() => self.parley.kept('vapid')), 'the key in the worker');
  assert.equal(Buffer.from(stored, 'base64url').length, 65);

  // The server lost it (removed elsewhere): the next start registers it again.
  const { subscriptions } = await api.call(dave.token, 'GET', '/v1/push/subscriptions');
  await api.call(dave.token, 'DELETE', `/v1/push/subscriptions/${subscriptions.find((s) => s.endpoint === currentEndpoint).id}`);
  await d.page.reload();
  await waitLive(d.page);
  await waitUntil(async () => (await entries(token)).some(([endpoint]) => endpoint === currentEndpoint), 'the subscription registered again');
  assertNoErrors(d.watch);
  await d.context.close();

  const from = push.received.length;
  await api.sendToUser(carol.token, dave.user.id, 'Hello Dave');
  assert.equal(JSON.parse(decrypt(await push.next('/push/dave-browser', from), keys)).text, 'Hello Dave');
});
