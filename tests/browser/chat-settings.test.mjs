// A conversation's own settings (issue 13, "conversation management"): pin to top, mute,
// archive and mark as unread from the list's row menu (its ⌄ button or a right click), kept by
// the server (conversation.settings) so they follow the user: a second browser of the same user
// shows each change live, and a reload keeps them. Opening a conversation marked as unread
// clears the mark everywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, conversationRow, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers'], ['dave', 'Dave Lister']],
});

/** Opens a row's menu with its ⌄ button (or a right click) and picks an item. */
async function rowMenu(page, title, item, { rightClick = false } = {}) {
  const row = conversationRow(page, title);
  if (rightClick) await row.click({ button: 'right' });
  else {
    await row.hover();
    await page.getByRole('button', { name: `Chat options: ${title}` }).click();
  }
  await page.getByRole('menu', { name: `Options of ${title}` }).getByRole('menuitem', { name: item }).click();
}

const titles = (page) => page.getByRole('navigation').locator('.conv-row__title').allTextContents();
const flag = (page, title, testId) => conversationRow(page, title).getByTestId(testId);

test('pin, mute, archive and mark as unread follow the user to a second browser and survive a reload', async () => {
  const { alice, bob, carol, dave } = users;
  const bobChat = await api.sendToUser(bob.token, alice.user.id, 'Hi from Bob');
  await api.sendToUser(carol.token, alice.user.id, 'Hi from Carol');
  await api.sendToUser(dave.token, alice.user.id, 'Hi from Dave');
  const laptop = await openPage(browser, server.base, 'laptop');
  const phone = await openPage(browser, server.base, 'phone');
  for (const { page } of [laptop, phone]) await signIn(page, 'alice');
  for (const { page } of [laptop, phone]) await conversationRow(page, 'Dave Lister').waitFor();
  assert.deepEqual(await titles(phone.page), ['Dave Lister', 'Carol Danvers', 'Bob Stone'], 'newest first');

  // Pin: Bob goes to the top on both, with a pin.
  await rowMenu(laptop.page, 'Bob Stone', 'Pin to top');
  await flag(phone.page, 'Bob Stone', 'row-pinned').waitFor();
  assert.deepEqual(await titles(phone.page), ['Bob Stone', 'Dave Lister', 'Carol Danvers'], 'pinned first');
  // A newer message elsewhere does not move a pinned conversation down.
  await api.send(carol.token, (await api.conversations(carol.token))[0].id, 'Carol again');
  await conversationRow(phone.page, 'Carol Danvers').locator('.conv-row__text', { hasText: 'Carol again' }).waitFor();
  assert.deepEqual(await titles(phone.page), ['Bob Stone', 'Carol Danvers', 'Dave Lister']);

  // Mute (from a right click) and unmute: the flag, and the unread count turns grey.
  await rowMenu(laptop.page, 'Carol Danvers', 'Mute always', { rightClick: true });
  await flag(phone.page, 'Carol Danvers', 'row-muted').waitFor();
  assert.match(await flag(phone.page, 'Carol Danvers', 'unread-badge').getAttribute('class'), /badge--muted/);
  await rowMenu(phone.page, 'Carol Danvers', 'Unmute');
  await flag(laptop.page, 'Carol Danvers', 'row-muted').waitFor({ state: 'detached' });

  // Archive: out of the list on both, under "Archived".
  await rowMenu(laptop.page, 'Dave Lister', 'Archive');
  await conversationRow(phone.page, 'Dave Lister').waitFor({ state: 'detached' });
  const entry = phone.page.getByRole('button', { name: /^Archived/ });
  await entry.click();
  await conversationRow(phone.page, 'Dave Lister').waitFor();
  assert.deepEqual(await titles(phone.page), ['Dave Lister']);
  await phone.page.getByRole('button', { name: 'Back to chats' }).click();
  await conversationRow(phone.page, 'Bob Stone').waitFor();

  // Mark as unread: Bob's chat, read on the laptop first, gets the dot on the phone; opening it
  // on the phone clears it on the laptop.
  await conversationRow(laptop.page, 'Bob Stone').click();
  await waitForMessage(laptop.page, 'Hi from Bob');
  await conversationRow(laptop.page, 'Carol Danvers').click();
  await rowMenu(laptop.page, 'Bob Stone', 'Mark as unread');
  await flag(phone.page, 'Bob Stone', 'marked-unread').waitFor();
  await flag(laptop.page, 'Bob Stone', 'marked-unread').waitFor();
  await conversationRow(phone.page, 'Bob Stone').click();
  await waitForMessage(phone.page, 'Hi from Bob');
  await flag(laptop.page, 'Bob Stone', 'marked-unread').waitFor({ state: 'detached' });

  // What the server keeps, and a reload shows it again.
  const kept = Object.fromEntries((await api.conversations(alice.token)).map((c) => [c.peer.username, c]));
  assert.ok(kept.bob.pin_rank > 0 && kept.bob.marked_unread === false);
  assert.equal(kept.dave.archived, true);
  assert.equal(kept.carol.muted_until, 0);
  assert.equal(kept.bob.id, bobChat.conversation_id);
  await laptop.page.reload();
  await flag(laptop.page, 'Bob Stone', 'row-pinned').waitFor();
  assert.deepEqual(await titles(laptop.page), ['Bob Stone', 'Carol Danvers']);
  assertNoErrors(laptop.watch, phone.watch);
});
