// The live features, each between two or more browser contexts: ticks that go on to delivered
// and read, unread badges that clear on a second device of the same user, typing indicators,
// presence dots and "last seen", the read-receipt setting, edits and deletes, reactions, replies,
// threads, mentions with @-completion, and the pinned-messages panel. Everything that is stored
// is checked again after a reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertNoErrors, assertTickProgress, bubble, composer, conversationRow, messageAction, messageMenu,
  openConversation, react, readMessages, readReactions, recordStatuses, sendMessage, setVisibility, signIn,
  startDirectChat, statusHistory, waitForMessage, waitLive,
} from './lib/app.mjs';
import { openPage, screenshot } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [
    ['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers'], ['dave', 'Dave Lister'],
    ['erin', 'Erin Hart'], ['frank', 'Frank Poole'], ['gina', 'Gina Tonic'],
  ],
  // Short presence windows so that "offline" shows within a second or two.
  args: ['--presence.batch_ms', '200', '--limits.receipt_flush_ms', '150'],
});

/** The ticks of a message (its data-status), and whether they are drawn in the "read" blue. */
async function ticksOf(page, text) {
  const target = bubble(page, text);
  return {
    status: await target.getAttribute('data-status'),
    blue: await target.locator('.ticks').evaluate((el) => getComputedStyle(el).color === 'rgb(26, 143, 216)'),
  };
}

test('ticks go on to delivered and read; unread badges clear on the second device', async () => {
  const alice = await openPage(browser, server.base, 'alice');
  const bob1 = await openPage(browser, server.base, 'bob-laptop');
  const bob2 = await openPage(browser, server.base, 'bob-phone');
  await signIn(alice.page, 'alice');
  await signIn(bob1.page, 'bob');
  await signIn(bob2.page, 'bob');

  // Alice writes; Bob is online on two devices (both on the list), so it is delivered, not read.
  await startDirectChat(alice.page, 'bob');
  await recordStatuses(alice.page);
  await sendMessage(alice.page, 'Are you coming to the review?');
  await waitForMessage(alice.page, 'Are you coming to the review?', 'delivered');
  await sendMessage(alice.page, 'It starts at three.');
  await sendMessage(alice.page, 'Room 4.');
  await waitForMessage(alice.page, 'Room 4.', 'delivered');

  // Both of Bob's devices show three unread messages, in the row and in the tab title.
  for (const bob of [bob1, bob2]) {
    await conversationRow(bob.page, 'Alice Liddell').getByTestId('unread-badge').filter({ hasText: '3' }).waitFor();
    await bob.page.waitForFunction(() => document.title === '(3) Parley');
  }
  const before = await ticksOf(alice.page, 'Room 4.');
  assert.equal(before.status, 'delivered');
  assert.equal(before.blue, false, 'delivered ticks are grey');
  await screenshot(alice.page, 'ticks-delivered');

  // Bob opens the chat on his laptop: Alice's ticks turn blue, and his phone's badge goes away.
  await openConversation(bob1.page, 'Alice Liddell');
  for (const text of ['Are you coming to the review?', 'It starts at three.', 'Room 4.']) {
    await waitForMessage(alice.page, text, 'read');
  }
  const after = await ticksOf(alice.page, 'Room 4.');
  assert.equal(after.blue, true, 'read ticks are blue');
  assert.deepEqual(await statusHistory(alice.page, 'Are you coming to the review?'), ['pending', 'sent', 'delivered', 'read']);
  await conversationRow(bob2.page, 'Alice Liddell').getByTestId('unread-badge').waitFor({ state: 'detached' });
  await bob2.page.waitForFunction(() => document.title === 'Parley');
  await screenshot(alice.page, 'ticks-read');

  // The counts come from the server: a reload of the phone still shows nothing unread; Alice's
  // ticks stay blue after her reload (the peer's read pointer is in the conversation).
  await bob2.page.reload();
  await waitLive(bob2.page);
  await conversationRow(bob2.page, 'Alice Liddell').waitFor();
  assert.equal(await conversationRow(bob2.page, 'Alice Liddell').getByTestId('unread-badge').count(), 0);
  await alice.page.reload();
  await waitLive(alice.page);
  await waitForMessage(alice.page, 'Room 4.', 'read');

  // Bob answers from the laptop; his own phone counts nothing as unread, Alice reads it at once.
  await recordStatuses(bob1.page);
  await sendMessage(bob1.page, 'Yes, see you there.');
  await waitForMessage(bob1.page, 'Yes, see you there.', 'read');
  assertTickProgress(await statusHistory(bob1.page, 'Yes, see you there.'), 'Bob’s answer');
  await conversationRow(bob2.page, 'Alice Liddell').filter({ hasText: 'You: Yes, see you there.' }).waitFor();
  assert.equal(await conversationRow(bob2.page, 'Alice Liddell').getByTestId('unread-badge').count(), 0);

  assertNoErrors(alice.watch, bob1.watch, bob2.watch);
  for (const page of [alice, bob1, bob2]) await page.context.close();
});

test('typing indicators, presence dots, last seen, and the read-receipt setting', async () => {
  const carol = await openPage(browser, server.base, 'carol');
  let dave = await openPage(browser, server.base, 'dave');
  await signIn(carol.page, 'carol');
  await signIn(dave.page, 'dave');
  await startDirectChat(carol.page, 'dave');
  await sendMessage(carol.page, 'Hi Dave');
  const header = carol.page.getByTestId('conversation-status');
  const headerAvatar = carol.page.getByRole('region', { name: 'Conversation with Dave Lister' }).locator('.conversation__header .avatar__presence');

  // Dave is online: a green dot on his avatar, "online" under his name; Carol is online for him.
  await header.filter({ hasText: /^online$/ }).waitFor();
  await carol.page.locator('.conversation__header .avatar__presence--online').waitFor();
  const daveRow = conversationRow(dave.page, 'Carol Danvers');
  await daveRow.locator('.avatar__presence--online').waitFor();
  assert.match(await daveRow.textContent(), /online/, 'the row says so to screen readers too');

  // Dave types: "typing…" in Carol's header and in her list row; sending ends it.
  await openConversation(dave.page, 'Carol Danvers');
  await composer(dave.page).pressSequentially('Hello Car', { delay: 30 });
  await header.filter({ hasText: 'typing…' }).waitFor();
  await conversationRow(carol.page, 'Dave Lister').getByTestId('row-typing').waitFor();
  await screenshot(carol.page, 'typing');
  await composer(dave.page).pressSequentially('ol!');
  await composer(dave.page).press('Enter');
  await waitForMessage(carol.page, 'Hello Carol!');
  await header.filter({ hasText: /^online$/ }).waitFor();
  await conversationRow(carol.page, 'Dave Lister').getByTestId('row-typing').waitFor({ state: 'detached' });

  // Typing and then leaving the box ends it too (a "stop" goes out on blur).
  await composer(dave.page).pressSequentially('Actually…');
  await header.filter({ hasText: 'typing…' }).waitFor();
  await dave.page.getByRole('log', { name: 'Messages', exact: true }).focus();
  await header.filter({ hasText: /^online$/ }).waitFor({ timeout: 3000 });

  // Dave's tab goes to the background: away (yellow dot); back: online.
  await setVisibility(dave.page, 'hidden');
  await header.filter({ hasText: /^away$/ }).waitFor();
  await carol.page.locator('.conversation__header .avatar__presence--away').waitFor();
  await setVisibility(dave.page, 'visible');
  await header.filter({ hasText: /^online$/ }).waitFor();

  // The read-receipt setting: Carol turns it off; Dave's next message stays "delivered" although
  // she has the chat open; turned on again, her next read shows.
  await carol.page.getByRole('button', { name: 'Settings' }).click();
  const settings = carol.page.getByRole('dialog', { name: 'Settings' });
  const receipts = settings.getByRole('switch', { name: /Read receipts/ });
  await receipts.waitFor();
  await carol.page.waitForFunction(() => !document.querySelector('dialog [role="switch"]')?.disabled);
  assert.equal(await receipts.isChecked(), true);
  await receipts.click();
  await carol.page.waitForFunction(() => {
    const input = document.querySelector('dialog [role="switch"]');
    return input && !input.checked && !input.disabled;
  });
  await screenshot(carol.page, 'settings');
  await settings.getByRole('button', { name: 'Done' }).click();
  await sendMessage(dave.page, 'Did you read this?');
  await waitForMessage(carol.page, 'Did you read this?');
  await waitForMessage(dave.page, 'Did you read this?', 'delivered');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal((await ticksOf(dave.page, 'Did you read this?')).status, 'delivered', 'no read receipt while they are off');
  await carol.page.getByRole('button', { name: 'Settings' }).click();
  await carol.page.getByRole('dialog', { name: 'Settings' }).getByRole('switch', { name: /Read receipts/ }).click();
  await carol.page.waitForFunction(() => document.querySelector('dialog [role="switch"]')?.checked === true);
  await carol.page.keyboard.press('Escape');
  await sendMessage(dave.page, 'And this one?');
  await waitForMessage(dave.page, 'And this one?', 'read');

  // Dave closes his browser: offline at once, with "last seen today at …"; he comes back online.
  await dave.context.close();
  await header.filter({ hasText: /^last seen today at \d\d:\d\d$/ }).waitFor();
  assert.equal(await headerAvatar.count(), 0, 'no dot while offline');
  assert.equal(await conversationRow(carol.page, 'Dave Lister').locator('.avatar__presence').count(), 0);
  await screenshot(carol.page, 'last-seen');
  dave = await openPage(browser, server.base, 'dave-again');
  await signIn(dave.page, 'dave');
  await header.filter({ hasText: /^online$/ }).waitFor();

  assertNoErrors(carol.watch, dave.watch);
  await carol.context.close();
  await dave.context.close();
});

test('edits, deletes, reactions, replies, threads and mentions reach the others and survive a reload', async () => {
  const { erin, frank, gina } = users;
  const { conversation } = await api.createGroup(erin.token, 'Launch plan', [frank.user.id, gina.user.id]);
  const e = await openPage(browser, server.base, 'erin');
  const f = await openPage(browser, server.base, 'frank');
  await signIn(e.page, 'erin');
  await signIn(f.page, 'frank');
  await openConversation(e.page, 'Launch plan');
  await openConversation(f.page, 'Launch plan');

  await sendMessage(e.page, 'Draft: ship on Friday');
  await sendMessage(e.page, 'oops, wrong chat');
  await waitForMessage(f.page, 'oops, wrong chat');

  // Erin edits her message from its menu: Frank sees the new text, marked "edited".
  await messageMenu(e.page, 'Draft: ship on Friday', 'Edit');
  const edit = e.page.getByRole('textbox', { name: 'Edit message' });
  await edit.fill('Plan: ship on Monday');
  await edit.press('Enter');
  await bubble(f.page, 'Plan: ship on Monday').locator('.bubble__edited').waitFor();
  assert.equal(await bubble(e.page, 'Plan: ship on Monday').locator('.bubble__edited').textContent(), 'edited');

  // And deletes the other one after confirming: a tombstone on both sides.
  await messageMenu(e.page, 'oops, wrong chat', 'Delete');
  await e.page.getByRole('dialog', { name: 'Delete message?' }).getByRole('button', { name: 'Delete for everyone' }).click();
  await bubble(f.page, 'This message was deleted').waitFor();
  await bubble(e.page, 'You deleted this message').waitFor();
  assert.equal(await bubble(f.page, 'oops, wrong chat').count(), 0);

  // Reactions toggle and count on both sides.
  await react(f.page, 'Plan: ship on Monday', 'Heart');
  await e.page.waitForFunction(() => document.querySelector('.reaction[data-emoji="❤️"] .reaction__count')?.textContent === '1');
  assert.deepEqual(await readReactions(f.page, 'Plan: ship on Monday'), [{ emoji: '❤️', count: 1, mine: true }]);
  assert.deepEqual(await readReactions(e.page, 'Plan: ship on Monday'), [{ emoji: '❤️', count: 1, mine: false }]);
  await bubble(e.page, 'Plan: ship on Monday').getByRole('button', { name: /^❤️ 1/ }).click();
  await f.page.waitForFunction(() => document.querySelector('.reaction[data-emoji="❤️"] .reaction__count')?.textContent === '2');
  await react(e.page, 'Plan: ship on Monday', 'Laughing');
  await f.page.locator('.reaction[data-emoji="😂"]').waitFor();
  assert.deepEqual(await readReactions(e.page, 'Plan: ship on Monday'), [
    { emoji: '❤️', count: 2, mine: true }, { emoji: '😂', count: 1, mine: true },
  ]);
  await bubble(f.page, 'Plan: ship on Monday').getByRole('button', { name: /^❤️ 2/ }).click(); // Frank takes his back
  await e.page.waitForFunction(() => document.querySelector('.reaction[data-emoji="❤️"] .reaction__count')?.textContent === '1');
  // Frank's own page shows it once its event comes back, which may be after Erin's.
  await f.page.waitForFunction(() => document.querySelector('.reaction[data-emoji="❤️"] .reaction__count')?.textContent === '1');
  assert.deepEqual(await readReactions(f.page, 'Plan: ship on Monday'), [
    { emoji: '❤️', count: 1, mine: false }, { emoji: '😂', count: 1, mine: false },
  ]);

  // Frank replies with a quote: shown above his composer, then in the message on both sides.
  await messageAction(f.page, 'Plan: ship on Monday', 'Reply');
  await f.page.getByTestId('reply-preview').filter({ hasText: 'Plan: ship on Monday' }).waitFor();
  await sendMessage(f.page, 'Monday works for QA.');
  await f.page.getByTestId('reply-preview').waitFor({ state: 'detached' });
  const quoted = bubble(e.page, 'Monday works for QA.').locator('.quote');
  await quoted.waitFor();
  assert.equal(await quoted.locator('.quote__author').textContent(), 'You');
  assert.equal(await quoted.locator('.quote__text').textContent(), 'Plan: ship on Monday');
  assert.equal(await quoted.getAttribute('aria-label'), null, 'named by its visible text (and a hidden "Reply to")');
  const quotedF = bubble(f.page, 'Monday works for QA.').locator('.quote');
  assert.equal(await quotedF.locator('.quote__author').textContent(), 'Erin Hart');
  assert.equal(await quotedF.locator('.quote__text').textContent(), 'Plan: ship on Monday');

  // A thread: Erin opens it from the message; replies stay out of the main list.
  await messageAction(e.page, 'Plan: ship on Monday', 'Reply in thread');
  const threadE = e.page.getByRole('complementary', { name: 'Thread' });
  await threadE.getByRole('textbox', { name: 'Reply in thread' }).fill('Release notes are due Friday.');
  await threadE.getByRole('textbox', { name: 'Reply in thread' }).press('Enter');
  await waitForMessage(e.page, 'Release notes are due Friday.');
  const summary = bubble(f.page, 'Plan: ship on Monday').locator('.bubble__thread');
  await summary.filter({ hasText: '1 reply' }).waitFor();
  await summary.click();
  const threadF = f.page.getByRole('complementary', { name: 'Thread' });
  await waitForMessage(f.page, 'Release notes are due Friday.');
  await threadF.getByRole('textbox', { name: 'Reply in thread' }).fill('I will draft them.');
  await threadF.getByRole('textbox', { name: 'Reply in thread' }).press('Enter');
  await threadE.locator('[data-testid="message"]').filter({ hasText: 'I will draft them.' }).waitFor();
  await threadE.getByText('2 replies').waitFor();
  await screenshot(e.page, 'thread');
  const mainTexts = (await e.page.getByRole('log', { name: 'Messages', exact: true }).locator('[data-testid="message"] .bubble__text').allTextContents());
  assert.ok(!mainTexts.some((t) => t.includes('I will draft them.')), 'thread replies are not in the main list');
  await e.page.keyboard.press('Escape');
  await threadE.waitFor({ state: 'detached' });
  await bubble(e.page, 'Plan: ship on Monday').locator('.bubble__thread').filter({ hasText: '2 replies' }).waitFor();

  // Mentions: "@gi" completes to Gina; Erin's own name is highlighted for her.
  await composer(f.page).pressSequentially('@gi');
  await f.page.getByRole('listbox', { name: 'Mention someone' }).getByRole('option', { name: /Gina Tonic/ }).waitFor();
  await composer(f.page).press('Enter');
  assert.equal(await composer(f.page).inputValue(), '@gina ');
  await composer(f.page).pressSequentially('and @erin: please review.');
  await composer(f.page).press('Enter');
  await waitForMessage(e.page, 'please review.');
  const mentions = bubble(e.page, 'please review.').locator('.mention');
  assert.deepEqual(await mentions.allTextContents(), ['@gina', '@erin']);
  assert.deepEqual(await mentions.evaluateAll((els) => els.map((el) => el.classList.contains('mention--me'))), [false, true]);

  // A mention while Erin is elsewhere: the row shows "@" beside the unread count.
  await e.page.keyboard.press('Escape');
  await e.page.getByRole('region', { name: 'Conversation with Launch plan' }).waitFor({ state: 'detached' });
  await sendMessage(f.page, '@erin one more thing');
  const row = conversationRow(e.page, 'Launch plan');
  await row.getByTestId('mention-badge').waitFor();
  await row.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
  await openConversation(e.page, 'Launch plan');
  await row.getByTestId('mention-badge').waitFor({ state: 'detached' });

  // With the keyboard: into the log, up to Frank's reply, "+" opens the picker, → and Enter react.
  await e.page.getByRole('log', { name: 'Messages', exact: true }).focus();
  for (let i = 0; i < 3; i++) await e.page.keyboard.press('ArrowUp');
  // Focus moves after the render that follows a key: wait for it, never read it at once.
  await e.page.waitForFunction(() => document.activeElement?.querySelector('.bubble__text')?.textContent === 'Monday works for QA.');
  await e.page.keyboard.press('+');
  await e.page.getByRole('menu', { name: 'Add a reaction' }).waitFor();
  await e.page.keyboard.press('ArrowRight');
  await e.page.keyboard.press('Enter');
  await f.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="message"]')]
    .some((el) => el.textContent.includes('Monday works for QA.') && el.querySelector('.reaction[data-emoji="❤️"]')));
  // The focus is back on the React button; Escape returns to the message, and "r" replies to it.
  await e.page.keyboard.press('Escape');
  await e.page.waitForFunction(() => document.activeElement?.dataset.testid === 'message');
  await e.page.keyboard.press('r');
  await e.page.getByTestId('reply-preview').filter({ hasText: 'Monday works for QA.' }).waitFor();
  await e.page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Message');  // the composer
  await e.page.keyboard.press('Escape'); // drops the quote, stays in the chat
  await e.page.getByTestId('reply-preview').waitFor({ state: 'detached' });
  await e.page.getByRole('region', { name: 'Conversation with Launch plan' }).waitFor();

  // A reload keeps all of it (history carries edits, tombstones, reactions, quotes and threads).
  await f.page.reload();
  await waitLive(f.page);
  await bubble(f.page, 'Plan: ship on Monday').locator('.bubble__edited').waitFor();
  await bubble(f.page, 'This message was deleted').waitFor();
  await bubble(f.page, 'Plan: ship on Monday').locator('.bubble__thread').filter({ hasText: '2 replies' }).waitFor();
  assert.deepEqual(await readReactions(f.page, 'Plan: ship on Monday'), [
    { emoji: '❤️', count: 1, mine: false }, { emoji: '😂', count: 1, mine: false },
  ]);
  assert.match(await bubble(f.page, 'Monday works for QA.').locator('.quote').textContent(), /Plan: ship on Monday/);
  const texts = (await readMessages(f.page)).map((m) => m.text);
  assert.deepEqual(texts, [
    'Plan: ship on Monday', 'This message was deleted', 'Monday works for QA.', '@gina and @erin: please review.', '@erin one more thing',
  ]);

  // What the server stored agrees.
  const stored = await api.allEvents(frank.token, conversation.id);
  const byText = stored.filter((event) => event.kind === 'text');
  assert.equal(byText.find((event) => event.text === 'Plan: ship on Monday')?.edited, true);
  assert.equal(byText.filter((event) => event.deleted).length, 1);
  assert.equal(byText.filter((event) => event.thread_root).length, 2);

  assertNoErrors(e.watch, f.watch);
  await e.context.close();
  await f.context.close();
});

test('pinned messages: pin from the menu, the panel on the other side, unpin there', async () => {
  const { gina, alice } = users;
  const { conversation } = await api.createGroup(gina.token, 'Pins team', [alice.user.id]);
  await api.send(gina.token, conversation.id, 'Wi-Fi password is on the whiteboard');
  await api.send(alice.token, conversation.id, 'Standup moved to 9:30');
  const g = await openPage(browser, server.base, 'gina');
  const a = await openPage(browser, server.base, 'alice');
  await signIn(g.page, 'gina');
  await signIn(a.page, 'alice');
  await openConversation(g.page, 'Pins team');
  await openConversation(a.page, 'Pins team');
  await waitForMessage(a.page, 'Standup moved to 9:30');

  await messageMenu(g.page, 'Standup moved to 9:30', 'Pin');
  await bubble(a.page, 'Standup moved to 9:30').getByRole('img', { name: 'Pinned' }).waitFor();
  await messageMenu(a.page, 'Wi-Fi password', 'Pin');
  await a.page.getByRole('button', { name: 'Pinned messages (2)' }).waitFor();

  // The panel lists both, as they are now; choosing one shows it in the conversation.
  await g.page.getByRole('button', { name: /^Pinned messages/ }).click();
  const panel = g.page.getByRole('complementary', { name: 'Pinned messages' });
  await panel.getByTestId('pin').nth(1).waitFor();
  const pins = await panel.getByTestId('pin').evaluateAll((items) => items.map((item) => item.querySelector('.pin__message').textContent));
  assert.deepEqual(pins, ['Standup moved to 9:30', 'Wi-Fi password is on the whiteboard']);
  await screenshot(g.page, 'pins');
  await panel.getByRole('button', { name: /Standup moved to 9:30\. Show in the conversation/ }).click();
  await g.page.locator('.bubble--flash').filter({ hasText: 'Standup moved to 9:30' }).waitFor();

  // Unpinned in the panel: gone from both sides.
  await panel.getByRole('button', { name: 'Unpin message from Alice Liddell' }).click();
  await panel.getByTestId('pin').nth(1).waitFor({ state: 'detached' });
  await a.page.getByRole('button', { name: 'Pinned messages (1)' }).waitFor();
  await bubble(a.page, 'Standup moved to 9:30').getByRole('img', { name: 'Pinned' }).waitFor({ state: 'detached' });
  await messageMenu(g.page, 'Wi-Fi password', 'Unpin');
  await panel.getByText('No pinned messages yet.').waitFor();

  assertNoErrors(g.watch, a.watch);
  await g.context.close();
  await a.context.close();
});
