// Settings → Appearance (issue 13, "profile and settings"): the theme is System, Light or Dark,
// kept on the device across reloads, and System follows the system's scheme live; password
// fields have a show/hide button.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, openSettings, signIn } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser } = await startSuite({ people: [['alice', 'Alice Liddell']] });

const theme = (page) => page.evaluate(() => document.documentElement.dataset.theme);
/** The page's background as drawn: dark when its luminance is low. */
const background = (page) => page.evaluate(() => getComputedStyle(document.querySelector('.sidebar')).backgroundColor);

test('the theme is chosen in Settings, kept after a reload, and System follows the system', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice', { colorScheme: 'light' });
  await signIn(page, 'alice');
  assert.equal(await theme(page), 'light', 'System, on a light system');
  const light = await background(page);

  const dialog = await openSettings(page);
  assert.equal(await dialog.getByRole('radio', { name: 'System' }).isChecked(), true);
  await dialog.getByRole('radio', { name: 'Dark' }).check();
  assert.equal(await theme(page), 'dark');
  assert.notEqual(await background(page), light, 'the palette changed');
  await page.reload();
  await page.locator('.app').waitFor();
  assert.equal(await theme(page), 'dark', 'kept on this device');

  const again = await openSettings(page);
  await again.getByRole('radio', { name: 'System' }).check();
  assert.equal(await theme(page), 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await again.getByRole('radio', { name: 'Light' }).check();
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await theme(page), 'light', 'a chosen theme does not follow the system');
  assertNoErrors(watch);
});

test('a password field shows its text while the eye is pressed', async () => {
  const { page, watch } = await openPage(browser, server.base, 'visitor');
  await page.goto('/');
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('correct horse battery');
  const eye = page.getByRole('button', { name: 'Show password' });
  assert.equal(await password.getAttribute('type'), 'password');
  assert.equal(await eye.getAttribute('aria-pressed'), 'false');
  await eye.click();
  assert.equal(await password.getAttribute('type'), 'text');
  assert.equal(await password.inputValue(), 'correct horse battery');
  assert.equal(await eye.getAttribute('aria-pressed'), 'true');
  await eye.click();
  assert.equal(await password.getAttribute('type'), 'password');
  assertNoErrors(watch);
});
