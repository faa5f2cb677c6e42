// Creating an account in the browser against the server's rules (protocol 2.1): the password
// strength hint while typing (POST /v1/auth/password_check), refusals shown at the field they are
// about, the device label of the sign-in, and what GET /v1/auth/config says: open, invite-only
// (an invite code field; a code from the admin API works once) or closed (no sign-up at all).
// Each test starts its own parleyd with the setting it needs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoErrors, signIn, waitForFieldError, waitForStrength, waitSignedIn } from './lib/app.mjs';
import { Api, PASSWORD } from './lib/api.mjs';
import { launchBrowser, openPage, screenshot } from './lib/browser.mjs';
import { Parleyd } from './lib/parleyd.mjs';

const ADMIN_TOKEN = 'browser-tests-admin-token-0123456789abcdef';
/** Chromium's own console line for a fetch answered with an error status (expected here). */
const REFUSED_REQUESTS = [/Failed to load resource: the server responded with a status of 4\d\d/];

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Starts a server for one test; `use(server)` runs with it and it is disposed afterwards. */
async function withServer(args, use) {
  const server = await Parleyd.launch(args);
  try {
    await use(server, new Api(server.base));
  } finally {
    await server.dispose();
  }
}

function signupForm(page) {
  return page.getByRole('form', { name: 'Create account' });
}

async function openSignup(page) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Create account' }).click();
  return signupForm(page);
}

async function submitSignup(page) {
  await signupForm(page).getByRole('button', { name: 'Create account' }).click();
}

test('sign-up: the strength hint judges the password while typing; refusals show at their fields', async () => {
  await withServer([], async (server, api) => {
    await api.register('taken', 'Taken Person');
    const { page, context, watch } = await openPage(browser, server.base, 'newcomer');
    watch.allow(REFUSED_REQUESTS);
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    const checks = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/auth/password_check')) checks.push({ method: request.method(), url: request.url(), body: request.postDataJSON() });
    });

    const form = await openSignup(page);
    await form.getByLabel('Username').fill('newcomer');
    await form.getByLabel(/^Display name/).fill('New Comer');

    // A common password: not accepted, with the server's reason, and the meter in the red.
    await form.getByLabel('Password').fill('password123');
    const weak = await waitForStrength(form, 'weak');
    assert.match(weak.text, /Not accepted/);
    assert.match(weak.text, /too easy to guess/);
    assert.ok(weak.value < weak.low, `the meter is below the minimum (${weak.value} < ${weak.low})`);
    await screenshot(page, 'signup-weak-password');

    // The user's own name is a known word too.
    await form.getByLabel('Password').fill('newcomer2024');
    await waitForStrength(form, 'weak');

    // A few unrelated words pass.
    await form.getByLabel('Password').fill(PASSWORD);
    const good = await waitForStrength(form, 'acceptable');
    assert.match(good.text, /(Acceptable|Strong) password/);
    assert.ok(good.value >= good.low, `the meter reaches the minimum (${good.value} >= ${good.low})`);

    // The checks went to the server with the names, in POST bodies only.
    assert.ok(checks.length >= 3, `one check per password at least (${checks.length})`);
    for (const check of checks) {
      assert.equal(check.method, 'POST');
      assert.ok(!check.url.includes('password123') && !check.url.includes('horse'), 'no password in a URL');
    }
    assert.deepEqual(checks.at(-1).body, { password: PASSWORD, username: 'newcomer', display_name: 'New Comer' });

    // A taken username: at the username field.
    await form.getByLabel('Username').fill('Taken');
    await submitSignup(page);
    assert.match(await waitForFieldError(form, 'Username'), /username is taken/);

    // A display name that imitates another user's username (the same letters in capitals).
    await form.getByLabel('Username').fill('newcomer');
    await form.getByLabel(/^Display name/).fill('TAKEN');
    await submitSignup(page);
    assert.match(await waitForFieldError(form, /^Display name/), /looks like another user’s username/);

    // A display name with a right-to-left override: refused by the server's normalization.
    await form.getByLabel(/^Display name/).fill('New \u202eComer');
    await submitSignup(page);
    assert.match(await waitForFieldError(form, /^Display name/), /^The display name contains invisible or direction-changing characters/);

    // A weak password submitted anyway: the server's reason at the password field.
    await form.getByLabel(/^Display name/).fill('New Comer');
    await form.getByLabel('Password').fill('password123');
    await submitSignup(page);
    assert.match(await waitForFieldError(form, 'Password'), /^The password is too easy to guess/);
    await screenshot(page, 'signup-refused');

    // Fixed: the account is created and the sign-in is labelled with the browser, not the raw
    // User-Agent, in the device list.
    await form.getByLabel('Password').fill(PASSWORD);
    await submitSignup(page);
    await waitSignedIn(page);
    const { token } = await api.login('newcomer');
    const devices = await api.sessions(token);
    assert.equal(devices.length, 2);
    const browserDevice = devices.find((device) => !device.current);
    assert.match(browserDevice.device, /^Web · Chrome on Linux$/, browserDevice.device);

    assert.ok(!consoleLines.some((line) => line.includes(PASSWORD) || line.includes('password123')), 'no password on the console');
    assertNoErrors(watch);
    await context.close();
  });
});

test('sign-up: too many sign-ups from one address says when to try again', async () => {
  await withServer(['--auth.signups_per_address_per_hour', '1'], async (server, api) => {
    await api.register('first', 'First One');
    const { page, context, watch } = await openPage(browser, server.base, 'second');
    watch.allow(REFUSED_REQUESTS);
    const form = await openSignup(page);
    await form.getByLabel('Username').fill('second');
    await form.getByLabel('Password').fill(PASSWORD);
    await submitSignup(page);
    const alert = form.getByRole('alert').filter({ hasText: 'Too many sign-ups' });
    await alert.waitFor();
    // Retry-After is an hour here.
    assert.match(await alert.textContent(), /Try again in about (59|60) minutes\./);
    assertNoErrors(watch);
    await context.close();
  });
});

test('invite-only server: an invite code field; a wrong code is refused there, an admin invite works once', async () => {
  await withServer(['--auth.registration', 'invite', '--auth.admin_token', ADMIN_TOKEN], async (server, api) => {
    const { page, context, watch } = await openPage(browser, server.base, 'invited');
    watch.allow(REFUSED_REQUESTS);
    const form = await openSignup(page);
    const invite = form.getByLabel(/^Invite code/);
    await invite.waitFor();
    await form.getByLabel('Username').fill('invited');
    await form.getByLabel('Password').fill(PASSWORD);
    await waitForStrength(form, 'acceptable');

    // No code: asked for one before anything is sent.
    await submitSignup(page);
    assert.match(await waitForFieldError(form, /^Invite code/), /Enter the invite code/);

    // A made-up code: the server's refusal (403) at the invite field.
    await invite.fill('not-a-real-code');
    await submitSignup(page);
    assert.match(await waitForFieldError(form, /^Invite code/), /invite code is unknown, expired or used up/);
    await screenshot(page, 'signup-invite');

    // A code from the admin API: the account is created and the invite is used up.
    const code = await api.createInvite(ADMIN_TOKEN, 1);
    assert.equal((await api.invites(ADMIN_TOKEN)).length, 1);
    await invite.fill(code);
    await submitSignup(page);
    await waitSignedIn(page);
    assert.deepEqual(await api.invites(ADMIN_TOKEN), [], 'the single-use invite is spent');

    // The sign-in screen of a second visitor still asks for a code.
    const other = await openPage(browser, server.base, 'other');
    await (await openSignup(other.page)).getByLabel(/^Invite code/).waitFor();

    assertNoErrors(watch, other.watch);
    await context.close();
    await other.context.close();
  });
});

test('closed server: no sign-up, a note says so; accounts from the admin API sign in', async () => {
  await withServer(['--auth.registration', 'closed', '--auth.admin_token', ADMIN_TOKEN], async (server, api) => {
    const [created] = await api.adminCreateUsers(ADMIN_TOKEN, [{ username: 'staff', password: PASSWORD, display_name: 'Staff Member' }]);
    assert.ok(created.id, JSON.stringify(created));
    const { page, context, watch } = await openPage(browser, server.base, 'staff');
    await page.goto('/');
    await page.getByTestId('registration-closed').filter({ hasText: 'does not take new sign-ups' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create account' }).count(), 0, 'no way to the sign-up form');
    await screenshot(page, 'signup-closed');
    await signIn(page, 'staff');
    assertNoErrors(watch);
    await context.close();
  });
});
