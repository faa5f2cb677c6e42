// The Security part of Settings (protocol 2.7), each between two browser contexts of the same
// user — a "laptop" and a "phone": changing the password signs the other devices out and keeps
// this one; a wrong current password is refused at its field and signs nobody out; the list of
// signed-in devices, and signing one out (the other browser, then this one); sign out everywhere
// else, then everywhere. A revoked browser is closed with 4004 and shows the sign-in screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertNoErrors, closeCodes, openSettings, recordCloseCodes, sessionToken, signIn, waitForFieldError,
  waitForStrength, waitLive, waitSignedIn, waitSignedOut,
} from './lib/app.mjs';
import { Api, PASSWORD } from './lib/api.mjs';
import { launchBrowser, openPage, screenshot } from './lib/browser.mjs';
import { Parleyd } from './lib/parleyd.mjs';

const NEW_PASSWORD = 'violet staple rocket';
/** What a browser shows when another device revoked its token. */
const REVOKED_NOTICE = 'You were signed out. Please sign in again.';

let server;
let browser;
let api;

before(async () => {
  server = await Parleyd.launch();
  browser = await launchBrowser();
  api = new Api(server.base);
  for (const [name, display] of [['carol', 'Carol Danvers'], ['dave', 'Dave Lister'], ['erin', 'Erin Hart'], ['frank', 'Frank Poole']]) {
    // The registration's own token is given back: the device lists hold the browsers only.
    const { token } = await api.register(name, display);
    await api.logout(token);
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The user signed in on two browsers (separate contexts), both connected, close codes recorded. */
async function signedInTwice(username) {
  const laptop = await openPage(browser, server.base, `${username}-laptop`);
  const phone = await openPage(browser, server.base, `${username}-phone`);
  await recordCloseCodes(laptop.page);
  await recordCloseCodes(phone.page);
  await signIn(laptop.page, username);
  await signIn(phone.page, username);
  return { laptop, phone };
}

async function openPasswordForm(page) {
  const settings = await openSettings(page);
  await settings.getByRole('button', { name: 'Change password' }).click();
  return { settings, form: settings.getByRole('form', { name: 'Change password' }) };
}

/** The rows of the device list: { current, online, text }. */
function readDevices(settings) {
  return settings.getByTestId('device').evaluateAll((nodes) => nodes.map((node) => ({
    current: node.dataset.current === 'true',
    online: node.dataset.online === 'true',
    text: node.textContent,
  })));
}

test('change password: the strength hint, the other device is signed out, this one stays', async () => {
  const { laptop, phone } = await signedInTwice('carol');
  const { settings, form } = await openPasswordForm(laptop.page);
  await form.getByLabel('Current password').fill(PASSWORD);

  // A weak new password: the hint says so, and the server refuses it at the field.
  await form.getByLabel('New password', { exact: true }).fill('password123');
  assert.match((await waitForStrength(form, 'weak')).text, /Not accepted\. The password is too easy to guess/);
  await form.getByLabel('Repeat the new password').fill('password123');
  await form.getByRole('button', { name: 'Save new password' }).click();
  assert.match(await waitForFieldError(form, 'New password'), /^The new password is too easy to guess/);

  // A good one, repeated wrongly: caught before sending.
  await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await waitForStrength(form, 'acceptable');
  await form.getByLabel('Repeat the new password').fill(`${NEW_PASSWORD}!`);
  await form.getByRole('button', { name: 'Save new password' }).click();
  assert.match(await waitForFieldError(form, 'Repeat the new password'), /not the same/);
  await screenshot(laptop.page, 'settings-change-password');

  // Repeated right: changed; the phone is signed out (4004), the laptop stays connected.
  await form.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Save new password' }).click();
  await settings.getByRole('status').filter({ hasText: 'Password changed. 1 other device was signed out.' }).waitFor();
  await waitSignedOut(phone.page, REVOKED_NOTICE);
  assert.deepEqual(await closeCodes(phone.page), [4004], 'the phone was closed with 4004');
  await waitLive(laptop.page);
  assert.deepEqual(await closeCodes(laptop.page), [], 'the laptop kept its connection');
  const token = await sessionToken(laptop.page);
  assert.equal((await api.status(token, 'GET', '/v1/me')).status, 200, 'the laptop keeps its token');
  // The device list is read again: only the laptop is left.
  await settings.locator('[data-testid="device"][data-current="false"]').waitFor({ state: 'detached' });
  assert.equal((await readDevices(settings)).length, 1);

  // The old password is gone, the new one signs the phone in.
  assert.equal((await api.status(null, 'POST', '/v1/auth/login', { username: 'carol', password: PASSWORD })).status, 401);
  await signIn(phone.page, 'carol', NEW_PASSWORD);

  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();
});

test('a wrong current password is refused at its field and signs nobody out', async () => {
  const { laptop, phone } = await signedInTwice('dave');
  const { settings, form } = await openPasswordForm(laptop.page);
  await form.getByLabel('Current password').fill('not my password at all');
  await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await form.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Save new password' }).click();
  assert.equal(await waitForFieldError(form, 'Current password'), 'The current password is wrong.');
  await screenshot(laptop.page, 'settings-wrong-password');

  // 403 forbidden is a refusal, not a token failure: the laptop is still signed in and
  // connected, its token valid; no device was signed out; the password is unchanged.
  assert.ok(await settings.isVisible(), 'the dialog stays open');
  await waitLive(laptop.page);
  const token = await sessionToken(laptop.page);
  assert.ok(token, 'the token is kept');
  assert.equal((await api.status(token, 'GET', '/v1/me')).status, 200);
  const devices = await api.sessions(token);
  assert.equal(devices.length, 2);
  assert.ok(devices.every((device) => device.online_sessions >= 1), JSON.stringify(devices));
  await waitLive(phone.page);
  assert.equal(await phone.page.getByRole('form', { name: 'Sign in' }).count(), 0);
  assert.deepEqual(await closeCodes(laptop.page), [], 'the laptop kept its connection');
  assert.deepEqual(await closeCodes(phone.page), [], 'the phone kept its connection');
  assert.equal((await api.status(null, 'POST', '/v1/auth/login', { username: 'dave', password: PASSWORD })).status, 200);

  // And after a reload too.
  await laptop.page.reload();
  await waitSignedIn(laptop.page);

  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();
});

test('signed-in devices: both browsers are listed; the other one, then this one, are signed out', async () => {
  const { laptop, phone } = await signedInTwice('erin');
  const phoneToken = await sessionToken(phone.page);
  const laptopToken = await sessionToken(laptop.page);
  const settings = await openSettings(laptop.page);
  await settings.getByTestId('device').nth(1).waitFor();
  const devices = await readDevices(settings);
  assert.equal(devices.length, 2);
  assert.deepEqual(devices.map((device) => device.current).sort(), [false, true]);
  for (const device of devices) {
    assert.match(device.text, /^Web · Chrome on Linux/);
    assert.ok(device.online, 'both browsers are connected');
    assert.match(device.text, /Online now · 127\.0\.0\.1 · last active today at/);
  }
  assert.match(devices.find((device) => device.current).text, /This device/);
  assert.doesNotMatch(devices.find((device) => !device.current).text, /This device/);
  await screenshot(laptop.page, 'settings-devices');

  // The phone, from the laptop.
  await settings.locator('[data-testid="device"][data-current="false"]').getByRole('button', { name: /^Sign out/ }).click();
  await waitSignedOut(phone.page, REVOKED_NOTICE);
  assert.deepEqual(await closeCodes(phone.page), [4004]);
  await settings.getByRole('status').filter({ hasText: 'Signed out Web · Chrome on Linux.' }).waitFor();
  await settings.locator('[data-testid="device"][data-current="false"]').waitFor({ state: 'detached' });
  assert.deepEqual(await api.status(phoneToken, 'GET', '/v1/me'), { status: 401, code: 'token_revoked' });
  await waitLive(laptop.page);

  // This device: the laptop is back at the sign-in screen, token forgotten and revoked.
  await settings.getByRole('button', { name: 'Sign out this device' }).click();
  await waitSignedOut(laptop.page, 'You are signed out.');
  assert.equal(await sessionToken(laptop.page), null);
  assert.deepEqual(await api.status(laptopToken, 'GET', '/v1/me'), { status: 401, code: 'token_revoked' });

  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();
});

test('sign out everywhere else keeps this browser; sign out everywhere ends them all', async () => {
  const { laptop, phone } = await signedInTwice('frank');
  const script = await api.login('frank', PASSWORD, 'Backup script');
  const settings = await openSettings(laptop.page);
  await settings.getByTestId('device').nth(2).waitFor();
  const listed = await readDevices(settings);
  const backup = listed.find((device) => device.text.startsWith('Backup script'));
  assert.ok(backup && !backup.online && /Not connected/.test(backup.text), JSON.stringify(listed));

  // Everywhere else: the phone and the script's token go, the laptop stays.
  await settings.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await laptop.page.getByRole('dialog', { name: 'Sign out everywhere else?' }).getByRole('button', { name: 'Sign out others' }).click();
  await settings.getByRole('status').filter({ hasText: 'Signed out 2 other devices.' }).waitFor();
  await waitSignedOut(phone.page, REVOKED_NOTICE);
  assert.deepEqual(await closeCodes(phone.page), [4004]);
  assert.deepEqual(await api.status(script.token, 'GET', '/v1/me'), { status: 401, code: 'token_revoked' });
  await settings.locator('[data-testid="device"][data-current="false"]').waitFor({ state: 'detached' });
  await waitLive(laptop.page);
  const laptopToken = await sessionToken(laptop.page);
  assert.equal((await api.status(laptopToken, 'GET', '/v1/me')).status, 200);

  // The phone signs in again; then everywhere, the laptop included.
  await signIn(phone.page, 'frank');
  await settings.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
  await laptop.page.getByRole('dialog', { name: 'Sign out everywhere?' }).getByRole('button', { name: 'Sign out all' }).click();
  await waitSignedOut(laptop.page, 'You are signed out on every device.');
  await waitSignedOut(phone.page, REVOKED_NOTICE);
  assert.deepEqual(await closeCodes(phone.page), [4004]);
  assert.equal(await sessionToken(laptop.page), null);
  assert.deepEqual(await api.status(laptopToken, 'GET', '/v1/me'), { status: 401, code: 'token_revoked' });
  await screenshot(laptop.page, 'signed-out-everywhere');

  assertNoErrors(laptop.watch, phone.watch);
  await laptop.context.close();
  await phone.context.close();
});
