// Groups and channels. A group of three with 160 messages seeded over REST: scrolling back pages
// through history (before_seq) and shows every event once, in order. Then group management in
// the UI (create, rename, roles, remove, add) seen live by another member, and channels
// (create, browse, join, leave). The README screenshot is taken here (with a quote, reactions, a
// thread and someone typing: live.test.mjs tests those).
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertContiguous, assertNoErrors, bubble, composer, conversationRow, messageAction, openConversation, react,
  readMessages, readSeqs, sendMessage, signIn, waitForMessage, waitForSystemLine,
} from './lib/app.mjs';
import { openPage, screenshot } from './lib/browser.mjs';
import { REPO } from './lib/parleyd.mjs';
import { startSuite } from './lib/suite.mjs';

const SEEDED = 160;

const { server, browser, api, users } = await startSuite({
  people: [['carol', 'Carol Danvers'], ['dave', 'Dave Lister'], ['erin', 'Erin Hart'], ['frank', 'Frank Poole']],
});

test('history scroll-back pages through a long group conversation in order', async () => {
  const { carol, dave, erin } = users;
  const { conversation } = await api.createGroup(carol.token, 'Book club', [dave.user.id, erin.user.id]);
  const authors = [carol, dave, erin];
  for (let i = 1; i <= SEEDED; i++) {
    await api.send(authors[i % 3].token, conversation.id, `message ${String(i).padStart(3, '0')}`);
  }
  // Events: conversation.created (1), member.added (2), then the messages (3..162).
  const lastSeq = SEEDED + 2;
  // Read already (as on another device): a chat with unread messages opens at the first of them
  // (unread.test.mjs); this one opens at the newest and pages back.
  await api.receipt(carol.token, conversation.id, lastSeq);

  const { page, watch, context } = await openPage(browser, server.base, 'carol');
  await signIn(page, 'carol');
  await openConversation(page, 'Book club');
  await waitForMessage(page, `message ${SEEDED}`);
  const first = await readSeqs(page);
  assert.equal(first[first.length - 1], lastSeq, 'the newest message is shown first');
  assert.ok(first[0] > 3, `only a page is loaded at first (from seq ${first[0]})`);

  // Scroll up until the beginning: each page lands above the view, which stays in place.
  const log = page.getByRole('log', { name: 'Messages' });
  await log.hover();
  let pages = 0;
  while (!(await page.getByTestId('history-start').isVisible())) {
    const before = (await readSeqs(page))[0];
    await page.mouse.wheel(0, -20_000);
    await page.waitForFunction((seq) => Number(document.querySelector('[data-seq]')?.dataset.seq) < seq
      || document.querySelector('[data-testid="history-start"]'), before);
    const scrollTop = await log.evaluate((el) => el.scrollTop);
    if (!(await page.getByTestId('history-start').isVisible())) {
      assert.ok(scrollTop > 0, 'after older messages come in, the view keeps its place (not pinned to the top)');
    }
    pages++;
    assert.ok(pages < 20, 'history paging terminates');
  }
  assert.ok(pages >= 2, `history needed several pages (${pages})`);

  const seqs = assertContiguous(await readSeqs(page), 'scroll-back');
  assert.equal(seqs[0], 1);
  assert.equal(seqs[seqs.length - 1], lastSeq);
  const texts = (await readMessages(page)).map((m) => m.text);
  assert.deepEqual(texts, Array.from({ length: SEEDED }, (_, i) => `message ${String(i + 1).padStart(3, '0')}`));
  await waitForSystemLine(page, 'You created the group “Book club”');
  await waitForSystemLine(page, 'You added Dave Lister and Erin Hart');
  await log.evaluate((el) => { el.scrollTop = 0; });
  await screenshot(page, 'history-start');

  // A reload keeps the session and the newest messages (from the device cache, then the server).
  await page.reload();
  await page.getByRole('region', { name: 'Conversation with Book club' }).waitFor();
  await waitForMessage(page, `message ${SEEDED}`);
  assertContiguous(await readSeqs(page), 'after reload');

  assertNoErrors(watch);
  await context.close();
});

test('groups are managed in the UI and other members follow live; channels are browsed and joined', async () => {
  const carol = await openPage(browser, server.base, 'carol');
  const dave = await openPage(browser, server.base, 'dave');
  await signIn(carol.page, 'carol');
  await signIn(dave.page, 'dave');

  // Carol creates a group with Dave and Erin.
  await carol.page.getByRole('button', { name: 'New group' }).click();
  const dialog = carol.page.getByRole('dialog', { name: 'New group' });
  await dialog.getByLabel('Group name').fill('Weekend trip');
  for (const name of ['dave', 'erin']) {
    await dialog.getByRole('textbox', { name: 'Members (by username)' }).fill(name);
    await dialog.getByRole('textbox', { name: 'Members (by username)' }).press('Enter');
    await dialog.getByRole('button', { name: `Remove ${name === 'dave' ? 'Dave Lister' : 'Erin Hart'}` }).waitFor();
  }
  await dialog.getByRole('button', { name: 'Create group' }).click();
  const carolView = carol.page.getByRole('region', { name: 'Conversation with Weekend trip' });
  await carolView.waitFor();
  await waitForSystemLine(carol.page, 'You created the group “Weekend trip”');
  await waitForSystemLine(carol.page, 'You added Dave Lister and Erin Hart');

  // Dave sees the new group arrive live, and the system lines.
  await openConversation(dave.page, 'Weekend trip');
  await waitForSystemLine(dave.page, 'Carol Danvers added you and Erin Hart');

  // Rename, make Dave an admin, remove Erin, add Frank — from the details panel.
  await carol.page.getByRole('button', { name: 'Details', exact: true }).click();
  const panel = carol.page.getByRole('complementary', { name: 'Conversation details' });
  await panel.getByRole('button', { name: 'Rename group' }).click();
  await panel.getByLabel('Group name').fill('Weekend in the Alps');
  await panel.getByRole('button', { name: 'Save' }).click();
  await waitForSystemLine(carol.page, 'You renamed this to “Weekend in the Alps”');
  await panel.getByRole('button', { name: 'Make admin: Dave Lister' }).click();
  await waitForSystemLine(carol.page, 'You made Dave Lister an admin');
  await panel.getByRole('button', { name: 'Remove: Erin Hart' }).click();
  await carol.page.getByRole('dialog', { name: 'Remove Erin Hart?' }).getByRole('button', { name: 'Remove' }).click();
  await waitForSystemLine(carol.page, 'You removed Erin Hart');
  await panel.getByRole('textbox', { name: 'Add members by username' }).fill('frank');
  await panel.getByRole('textbox', { name: 'Add members by username' }).press('Enter');
  await panel.getByRole('button', { name: 'Add Frank Poole' }).click();
  await waitForSystemLine(carol.page, 'You added Frank Poole');
  await panel.getByRole('button', { name: 'Dismiss admin: Dave Lister' }).waitFor();
  await panel.getByRole('heading', { name: '3 members' }).waitFor();

  // Dave follows: new title, his new role, the membership lines.
  await dave.page.getByRole('region', { name: 'Conversation with Weekend in the Alps' }).waitFor();
  await waitForSystemLine(dave.page, 'Carol Danvers made you an admin');
  await waitForSystemLine(dave.page, 'Carol Danvers removed Erin Hart');
  await waitForSystemLine(dave.page, 'Carol Danvers added Frank Poole');
  await conversationRow(dave.page, 'Weekend in the Alps').waitFor();

  // Some conversation, from the browsers and over REST (Frank).
  const group = (await api.conversations(users.carol.token)).find((c) => c.title === 'Weekend in the Alps');
  await sendMessage(dave.page, 'The cabin is booked from Friday to Sunday.');
  await api.send(users.frank.token, group.id, 'Great! I can drive, there is room for three more.');
  await sendMessage(carol.page, 'Perfect. I will bring the **board games**.');
  await sendMessage(dave.page, 'Trail map: https://example.org/trails/alps — the lake loop looks nice.');
  await api.send(users.frank.token, group.id, 'Leaving at 8 sharp, see you all there!');
  await waitForMessage(carol.page, 'Leaving at 8 sharp');
  await waitForMessage(dave.page, 'Perfect. I will bring the board games.');
  for (const page of [carol.page, dave.page]) assertContiguous(await readSeqs(page), 'group view');

  await carol.page.getByRole('button', { name: 'Not now' }).click();
  await screenshot(carol.page, 'group-with-details');

  // The README screenshot: the group with a quote, reactions, a thread and someone typing.
  await carol.page.getByRole('button', { name: 'Close details' }).click();
  const seqOf = async (text) => Number(await bubble(carol.page, text).getAttribute('data-seq'));
  const cabin = await seqOf('The cabin is booked');
  const drive = await seqOf('Great! I can drive');
  await api.sendWith(users.frank.token, group.id, 'Which road do we take?', { thread_root_seq: cabin });
  await api.sendWith(users.frank.token, group.id, 'I would take the pass, it is faster.', { thread_root_seq: cabin });
  await messageAction(dave.page, 'Great! I can drive', 'Reply');
  await sendMessage(dave.page, 'Count me in for the ride!');
  await react(carol.page, 'Trail map', 'Heart');
  await api.react(users.frank.token, group.id, await seqOf('Trail map'), '❤️');
  await api.react(users.frank.token, group.id, await seqOf('Perfect. I will bring'), '😂');
  await api.react(users.dave.token, group.id, drive, '😂');
  await api.react(users.dave.token, group.id, await seqOf('Trail map'), '🥾');
  await bubble(carol.page, 'Count me in for the ride!').locator('.quote').waitFor();
  // Frank reads over REST, Dave in his browser: Carol's message gets blue ticks.
  await api.receipt(users.frank.token, group.id, await seqOf('Count me in for the ride!'));
  await waitForMessage(carol.page, 'Perfect. I will bring the board games.', 'read');
  await bubble(carol.page, 'The cabin is booked').locator('.bubble__thread').filter({ hasText: '2 replies' }).waitFor();
  await carol.page.locator('.reaction[data-emoji="❤️"] .reaction__count').filter({ hasText: '2' }).waitFor();
  await carol.page.locator('.reaction[data-emoji="😂"]').nth(1).waitFor();
  await composer(dave.page).pressSequentially('See you', { delay: 20 });
  await carol.page.getByTestId('conversation-status').filter({ hasText: 'Dave is typing…' }).waitFor();
  await carol.page.mouse.move(640, 790);
  const shot = await screenshot(carol.page, 'group-chat');
  // The README's picture: refreshed on request only, so that a test run leaves the tree clean.
  if (process.env.PARLEY_UPDATE_SCREENSHOT === '1') copyFileSync(shot, path.join(REPO, 'docs/screenshot.png'));
  await composer(dave.page).fill('');

  // Channels: Carol creates one; Dave finds it, joins, and leaves it again.
  await carol.page.getByRole('button', { name: 'Channels' }).click();
  await carol.page.getByRole('dialog', { name: 'Channels' }).getByRole('button', { name: 'Create a channel' }).click();
  const create = carol.page.getByRole('dialog', { name: 'New channel' });
  await create.getByLabel('Channel name').fill('announcements');
  await create.getByLabel('Topic').fill('News for everyone');
  await create.getByRole('button', { name: 'Create channel' }).click();
  await carol.page.getByRole('region', { name: 'Conversation with announcements' }).waitFor();
  await sendMessage(carol.page, 'Welcome to the announcements channel.');
  await waitForMessage(carol.page, 'Welcome to the announcements channel.');

  await dave.page.getByRole('button', { name: 'Channels' }).click();
  const browse = dave.page.getByRole('dialog', { name: 'Channels' });
  await browse.getByRole('searchbox', { name: 'Search channels' }).fill('ANN');
  await browse.getByRole('button', { name: 'Join announcements' }).click();
  await dave.page.getByRole('region', { name: 'Conversation with announcements' }).waitFor();
  await waitForMessage(dave.page, 'Welcome to the announcements channel.');
  await waitForSystemLine(dave.page, 'You joined');
  await screenshot(dave.page, 'channel-joined');

  await dave.page.getByRole('button', { name: 'Details', exact: true }).click();
  await dave.page.getByRole('button', { name: 'Leave channel' }).click();
  await dave.page.getByRole('dialog', { name: 'Leave “announcements”?' }).getByRole('button', { name: 'Leave' }).click();
  await conversationRow(dave.page, 'announcements').waitFor({ state: 'detached' });
  await waitForSystemLine(carol.page, 'Dave Lister left');

  assertNoErrors(carol.watch, dave.watch);
  await carol.context.close();
  await dave.context.close();
});
