// The conversation list after a reload (issue 13, bug 8): the ticks of a group's last message
// do not go back from read (blue) to sent (one grey tick) until the group is opened again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, conversationRow, openConversation, sendMessage, signIn, waitForMessage, waitLive } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['dave', 'Dave Lister'], ['erin', 'Erin Hart']],
});

/** The status the list row's ticks show for its last message ('read', 'delivered', 'sent', …). */
async function rowTicks(page, title) {
  const classes = await conversationRow(page, title).locator('.conv-row__preview .ticks').getAttribute('class');
  return /ticks--(\w+)/.exec(classes)?.[1];
}

test("a group's read ticks in the list stay read after a reload", async () => {
  const { alice, dave, erin } = users;
  const { conversation } = await api.createGroup(alice.token, 'Red Dwarf', [dave.user.id, erin.user.id]);
  await api.sendToUser(dave.token, alice.user.id, 'something else');  // a direct chat to switch to
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await openConversation(page, 'Red Dwarf');
  await sendMessage(page, 'Everybody read this?');
  await waitForMessage(page, 'Everybody read this?');
  const seq = (await api.allEvents(alice.token, conversation.id)).at(-1).seq;
  for (const member of [dave, erin]) await api.receipt(member.token, conversation.id, seq);
  await waitForMessage(page, 'Everybody read this?', 'read');
  await conversationRow(page, 'Dave Lister').click();
  await page.getByRole('region', { name: 'Conversation with Dave Lister' }).waitFor();
  await page.waitForFunction(() => document.querySelector('a.conv-row .conv-row__preview .ticks--read'));
  assert.equal(await rowTicks(page, 'Red Dwarf'), 'read', 'blue ticks in the list before the reload');

  await page.reload();
  await waitLive(page);
  await page.getByRole('region', { name: 'Conversation with Dave Lister' }).waitFor();
  assert.equal(await rowTicks(page, 'Red Dwarf'), 'read', 'still blue after the reload, the group not opened');
  assertNoErrors(watch);
});
