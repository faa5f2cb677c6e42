// Phone width and keyboard only. At 390 px the list and the conversation are two screens with a
// back button; everything below is done with the keyboard: sign-up, opening a dialog, starting
// a chat, sending (Enter), leaving the chat (Escape), and focus is always visible.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoErrors, waitForMessage, waitSignedIn } from './lib/app.mjs';
import { Api, PASSWORD } from './lib/api.mjs';
import { launchBrowser, openPage, PHONE, screenshot } from './lib/browser.mjs';
import { Parleyd } from './lib/parleyd.mjs';

let server;
let browser;
let api;
let grace;

before(async () => {
  server = await Parleyd.launch();
  browser = await launchBrowser();
  api = new Api(server.base);
  grace = await api.register('grace', 'Grace Hopper');
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** What has the focus, and whether it is drawn (an outline or a box shadow). */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const container = el.closest('.sidebar__search');
    const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
      || style.boxShadow !== 'none'
      || (container && getComputedStyle(container).outlineStyle !== 'none');
    return { label: el.getAttribute('aria-label') ?? el.textContent?.trim() ?? '', tag: el.tagName, visible };
  });
}

/** Presses Tab until the focused element has this accessible label (at most `max` times). */
async function tabTo(page, label, max = 25) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now?.label === label) {
      assert.ok(now.visible, `focus on “${label}” is visible`);
      return;
    }
  }
  assert.fail(`“${label}” is not reachable with Tab`);
}

test('at phone width, with the keyboard only: sign up, start a chat, send, go back', async () => {
  const { page, watch, context } = await openPage(browser, server.base, 'phone', { viewport: PHONE });
  await page.goto('/');

  // Sign up without the mouse: the username field has the focus; "Create account" is before it.
  assert.equal((await focused(page))?.tag, 'INPUT');
  await page.keyboard.press('Shift+Tab');
  assert.equal((await focused(page))?.label, 'Create account');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.type('henry');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Henry Ford');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await screenshot(page, 'phone-sign-up');
  await page.keyboard.press('Enter');
  await waitSignedIn(page);

  // Grace writes first; the list is the whole screen.
  await api.sendToUser(grace.token, (await api.login('henry')).user.id, 'Hello Henry, welcome to Parley!');
  const row = page.getByRole('navigation', { name: 'Conversation list' }).getByRole('link', { name: /Grace Hopper/ });
  await row.waitFor();
  assert.equal(await page.locator('main.main').isVisible(), false, 'the conversation pane is hidden on a phone');
  await screenshot(page, 'phone-list');

  // Start a chat with the keyboard: Tab to "New chat", Enter, type, Enter.
  await tabTo(page, 'New chat');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'New chat' });
  await dialog.waitFor();
  await page.keyboard.type('grace');
  await page.keyboard.press('Enter');
  const conversation = page.getByRole('region', { name: 'Conversation with Grace Hopper' });
  await conversation.waitFor();
  assert.equal(await page.getByRole('complementary', { name: 'Conversations' }).isVisible(), false, 'the list is hidden while chatting');
  await waitForMessage(page, 'Hello Henry, welcome to Parley!');

  // On a phone the composer does not grab the focus (it would open the keyboard); Tab to it.
  await tabTo(page, 'Message');
  await page.keyboard.type('Thanks! Typing this with the keyboard only.');
  await page.keyboard.press('Enter');
  await waitForMessage(page, 'Typing this with the keyboard only.');
  await screenshot(page, 'phone-conversation');

  // Escape goes back to the list, with the focus on the conversation's row.
  await page.keyboard.press('Escape');
  await row.waitFor();
  assert.equal(await conversation.isVisible(), false);
  const back = await focused(page);
  assert.match(back?.label ?? '', /Grace Hopper/, 'focus returns to the row of the conversation');
  assert.ok(back.visible, 'and it is visible');

  // Enter on the row opens the chat again; the back button leaves it too.
  await page.keyboard.press('Enter');
  await conversation.waitFor();
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await row.waitFor();

  // Dialogs close with Escape and give the focus back.
  await tabTo(page, 'Channels');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: 'Channels' }).waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Channels' }).waitFor({ state: 'detached' });
  assert.equal((await focused(page))?.label, 'Channels');

  assertNoErrors(watch);
  await context.close();
});
