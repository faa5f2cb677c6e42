// Channels before joining (issue 13, "channels"): a channel can be read before it is joined —
// "Preview" in the Channels dialog, or a #channel in a message — without it entering the
// conversation list until "Join channel"; a #name that is no channel says so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, conversationRow, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers']],
});

const listTitles = (page) => page.getByRole('navigation', { name: 'Conversation list' }).locator('.conv-row__title').allTextContents();

test('a channel is read before joining, from the Channels dialog and from a #channel link', async () => {
  const { bob, carol, alice } = users;
  const { conversation: design } = await api.call(carol.token, 'POST', '/v1/channels', { title: 'design', topic: 'What we draw' });
  const root = await api.send(carol.token, design.id, 'New logo drafts are up');
  await api.sendWith(carol.token, design.id, 'Round two on Friday', { thread_root_seq: root.seq });
  const { conversation: random } = await api.call(carol.token, 'POST', '/v1/channels', { title: 'random' });
  await api.send(carol.token, random.id, 'Anyone for coffee?');
  await api.sendToUser(bob.token, alice.user.id, 'Have a look at #design and #nowhere.');

  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');

  // From the dialog: Preview shows the messages and a Join button; the list does not change.
  await page.getByRole('button', { name: 'Channels' }).click();
  const dialog = page.getByRole('dialog', { name: 'Channels' });
  await dialog.getByRole('button', { name: 'Preview random' }).click();
  await waitForMessage(page, 'Anyone for coffee?');
  await page.getByRole('button', { name: 'Join channel' }).waitFor();
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0, 'no message box before joining');
  assert.deepEqual(await listTitles(page), ['Bob Stone'], 'a preview is not in the list');

  // From a #channel in a message: its thread shows too; joining puts it in the list.
  await conversationRow(page, 'Bob Stone').click();
  await waitForMessage(page, 'Have a look at');
  await bubble(page, 'Have a look at').getByRole('button', { name: '#design' }).click();
  await waitForMessage(page, 'New logo drafts are up');
  await bubble(page, 'New logo drafts are up').locator('.bubble__thread').filter({ hasText: '1 reply' }).waitFor();
  await page.getByRole('button', { name: 'Join channel' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  await page.getByRole('navigation', { name: 'Conversation list' }).locator('.conv-row__title').getByText('design', { exact: true }).waitFor();
  assert.deepEqual((await listTitles(page)).sort(), ['Bob Stone', 'design']);

  // A #name that is no channel.
  await conversationRow(page, 'Bob Stone').click();
  await bubble(page, 'Have a look at').getByRole('button', { name: '#nowhere' }).click();
  await page.getByText('There is no channel called #nowhere.').waitFor();
  assertNoErrors(watch);
});
