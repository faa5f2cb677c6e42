// The emoji picker (issue 13, "what users reach for first"): in the composer and for reactions,
// emojibase's whole set with search by name, keyword or shortcode, categories, a skin tone, and
// the recently used emoji first. An emoji picked here is byte for byte the one the quick row,
// other clients and the REST API use, so the same reaction counts once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, composer, messageAction, readReactions, signIn, startDirectChat, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone']],
});

const panel = (page, name) => page.getByRole('dialog', { name });
const focusedLabel = (page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label'));

test('the composer picker: search, skin tone, keyboard, several emoji in a row, recently used first', async () => {
  const { alice, bob } = users;
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await startDirectChat(page, 'bob');
  const box = composer(page);
  await box.fill('Party time ');

  await page.getByRole('button', { name: 'Emoji', exact: true }).click();
  const picker = panel(page, 'Emoji');
  await picker.getByRole('group', { name: 'Smileys & emotion' }).getByRole('button', { name: 'grinning face', exact: true }).waitFor();
  assert.equal(await focusedLabel(page), 'Search emoji', 'the search box has the focus');
  assert.equal(await picker.getByRole('group', { name: 'Recently used' }).count(), 0, 'nothing used yet');

  // A shortcode finds it; Enter takes the first result, and the picker stays open.
  await page.keyboard.type('tada');
  assert.equal(await picker.locator('.emoji-panel__emoji').first().getAttribute('aria-label'), 'party popper');
  await page.keyboard.press('Enter');
  assert.equal(await box.inputValue(), 'Party time 🎉');

  // A skin tone applies to the emoji that have one; the keyboard walks the results.
  await picker.getByRole('button', { name: /^Skin tone/ }).click();
  await picker.getByRole('group', { name: 'Skin tone' }).getByRole('button', { name: 'Medium skin tone' }).click();
  await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('thumbs');
  const first = picker.locator('.emoji-panel__emoji').first();
  assert.equal(await first.getAttribute('aria-label'), 'thumbs up');
  assert.equal(await first.textContent(), '👍🏽');
  await page.keyboard.press('ArrowDown');
  assert.equal(await focusedLabel(page), 'thumbs up');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focusedLabel(page), 'thumbs down');
  await page.keyboard.press('Enter');
  assert.equal(await box.inputValue(), 'Party time 🎉👎🏽');

  // Escape closes it and gives the box back; the emoji were typed where the caret was.
  await page.keyboard.press('Escape');
  await picker.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Message');
  await page.keyboard.press('Enter');
  await waitForMessage(page, 'Party time 🎉👎🏽');
  const [conversation] = await api.conversations(bob.token);
  const events = await api.allEvents(bob.token, conversation.id);
  assert.equal(events.at(-1).text, 'Party time \u{1F389}\u{1F44E}\u{1F3FD}', 'the exact code points reached the server');

  // Reopened: the recently used ones come first, newest first; a category tab jumps to it.
  await page.getByRole('button', { name: 'Emoji', exact: true }).click();
  const recent = picker.getByRole('group', { name: 'Recently used' });
  await recent.waitFor();
  assert.deepEqual(await recent.locator('.emoji-panel__emoji').allTextContents(), ['👎🏽', '🎉']);
  await picker.getByRole('group', { name: 'Emoji categories' }).getByRole('button', { name: 'Flags' }).click();
  const flags = picker.getByRole('group', { name: 'Flags', exact: true });
  const top = (locator) => locator.evaluate((el) => Math.round(el.getBoundingClientRect().top));
  const bodyTop = await picker.locator('.emoji-panel__body').evaluate((el) => Math.round(el.getBoundingClientRect().top));
  assert.ok(Math.abs(await top(flags) - bodyTop) <= 2, 'the Flags section is at the top of the list');
  await flags.getByRole('button', { name: 'flag: Japan' }).click();
  assert.equal(await box.inputValue(), '🇯🇵');
  // Survives a reload (kept on this device).
  await page.keyboard.press('Escape');
  await page.reload();
  await page.getByRole('button', { name: 'Emoji', exact: true }).click();
  await recent.waitFor();
  assert.deepEqual(await recent.locator('.emoji-panel__emoji').allTextContents(), ['🇯🇵', '👎🏽', '🎉']);
  assertNoErrors(watch);
  void alice;
});

test('any emoji as a reaction, counted together with the same emoji from the quick row or another client', async () => {
  const { alice, bob } = users;
  const sent = await api.sendToUser(bob.token, alice.user.id, 'Guacamole tonight?');
  const id = sent.conversation_id;
  // Bob reacts over REST with the two forms the quick row sends: ❤️ (U+2764 U+FE0F) and 👍 (U+1F44D).
  await api.react(bob.token, id, sent.seq, '\u2764\uFE0F');
  await api.react(bob.token, id, sent.seq, '\u{1F44D}');
  const { page, watch } = await openPage(browser, server.base, 'alice-reactions');
  await signIn(page, 'alice');
  await page.getByRole('navigation').getByText('Bob Stone').click();
  await waitForMessage(page, 'Guacamole tonight?');

  // The quick row's "+" opens the whole set; "avocado" is not among the quick reactions.
  await messageAction(page, 'Guacamole tonight?', 'React');
  await page.getByRole('menu', { name: 'Add a reaction' }).getByRole('menuitem', { name: 'More reactions' }).click();
  const picker = panel(page, 'Add a reaction');
  await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('avocado');
  await picker.getByRole('button', { name: 'avocado' }).click();
  await picker.waitFor({ state: 'detached' });
  const chip = (emoji) => bubble(page, 'Guacamole tonight?').locator(`.reaction[data-emoji="${emoji}"]`);
  await chip('🥑').waitFor();

  // "red heart" and "thumbs up" from the picker are the very emoji Bob used: one chip each, count 2.
  for (const name of ['red heart', 'thumbs up']) {
    await bubble(page, 'Guacamole tonight?').hover();
    await bubble(page, 'Guacamole tonight?').getByRole('button', { name: 'Add a reaction' }).click();
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill(name);
    await picker.getByRole('button', { name, exact: true }).click();
    await picker.waitFor({ state: 'detached' });
  }
  await page.waitForFunction(() => document.querySelectorAll('.reaction[aria-pressed="true"]').length === 3);
  const reactions = await readReactions(page, 'Guacamole tonight?');
  assert.deepEqual(reactions.map((r) => [r.emoji, r.count, r.mine]).sort(), [['❤️', 2, true], ['👍', 2, true], ['🥑', 1, true]].sort());

  // The picker shows the user's reactions as chosen, recently used first; picking one again takes it back.
  await bubble(page, 'Guacamole tonight?').hover();
  await bubble(page, 'Guacamole tonight?').getByRole('button', { name: 'Add a reaction' }).click();
  const recent = picker.getByRole('group', { name: 'Recently used' });
  assert.deepEqual(await recent.locator('.emoji-panel__emoji').allTextContents(), ['👍', '❤️', '🥑']);
  assert.equal(await recent.getByRole('button', { name: 'avocado' }).getAttribute('aria-pressed'), 'true');
  await recent.getByRole('button', { name: 'avocado' }).click();
  await chip('🥑').waitFor({ state: 'detached' });
  const events = await api.allEvents(bob.token, id);
  assert.deepEqual(events.filter((e) => e.kind.startsWith('reaction.')).map((e) => [e.kind, e.emoji, e.sender_id]), [
    ['reaction.added', '❤️', bob.user.id], ['reaction.added', '👍', bob.user.id],
    ['reaction.added', '🥑', alice.user.id], ['reaction.added', '❤️', alice.user.id], ['reaction.added', '👍', alice.user.id],
    ['reaction.removed', '🥑', alice.user.id],
  ]);
  assertNoErrors(watch);
});
