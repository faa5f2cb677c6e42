// "Delete for me" and "Clear chat" (issue 13, "conversation management"): the user's own, kept by
// the server (message.hide, conversation.settings cleared_seq, protocol 5.11), so a second
// browser of the same user follows live and a reload keeps them; the other member still sees
// everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, conversationRow, messageMenu, readMessages, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({ people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone']] });

const texts = async (page) => (await readMessages(page)).map((m) => m.text);
const bobSees = async (id) => (await api.allEvents(users.bob.token, id)).filter((e) => e.kind === 'text').map((e) => e.text);

async function deleteVia(page, text, choice) {
  await messageMenu(page, text, 'Delete');
  const dialog = page.getByRole('dialog', { name: 'Delete message?' });
  await dialog.getByRole('button', { name: choice, exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
}

test('delete for me hides a message on every device of the user only; clear chat empties it for the user', async () => {
  const { alice, bob } = users;
  const { conversation_id: id } = await api.sendToUser(bob.token, alice.user.id, 'The surprise is on Friday');
  await api.send(bob.token, id, 'Bring a cake');
  await api.send(alice.token, id, 'I will bake one');
  const laptop = await openPage(browser, server.base, 'laptop');
  const phone = await openPage(browser, server.base, 'phone');
  for (const { page } of [laptop, phone]) {
    await signIn(page, 'alice');
    await conversationRow(page, 'Bob Stone').click();
    await waitForMessage(page, 'I will bake one');
  }

  // Someone else's message: only "Delete for me" is offered.
  await messageMenu(laptop.page, 'The surprise is on Friday', 'Delete');
  const dialog = laptop.page.getByRole('dialog', { name: 'Delete message?' });
  assert.equal(await dialog.getByRole('button', { name: 'Delete for everyone' }).count(), 0);
  await dialog.getByRole('button', { name: 'Delete for me', exact: true }).click();
  for (const { page } of [laptop, phone]) {
    await bubble(page, 'The surprise is on Friday').waitFor({ state: 'detached' });
    assert.deepEqual(await texts(page), ['Bring a cake', 'I will bake one']);
  }

  // Her own message: for everyone or for her; "for me" leaves it to Bob, and the list's preview
  // falls back to the newest message she still sees.
  await deleteVia(phone.page, 'I will bake one', 'Delete for me');
  for (const { page } of [laptop, phone]) {
    await bubble(page, 'I will bake one').waitFor({ state: 'detached' });
    await conversationRow(page, 'Bob Stone').locator('.conv-row__text').filter({ hasText: /^Bring a cake$/ }).waitFor();
  }
  assert.deepEqual(await bobSees(id), ['The surprise is on Friday', 'Bring a cake', 'I will bake one']);

  // A reload reads history: the hidden ones stay hidden.
  await laptop.page.reload();
  await conversationRow(laptop.page, 'Bob Stone').click();
  await waitForMessage(laptop.page, 'Bring a cake');
  assert.deepEqual(await texts(laptop.page), ['Bring a cake']);

  // Clear chat, from the list's menu on the phone: both devices are empty, Bob keeps everything.
  await conversationRow(phone.page, 'Bob Stone').hover();
  await phone.page.getByRole('button', { name: 'Chat options: Bob Stone' }).click();
  await phone.page.getByRole('menu', { name: 'Options of Bob Stone' }).getByRole('menuitem', { name: 'Clear chat' }).click();
  await phone.page.getByRole('dialog', { name: 'Clear this chat?' }).getByRole('button', { name: 'Clear chat' }).click();
  for (const { page } of [laptop, phone]) await bubble(page, 'Bring a cake').waitFor({ state: 'detached' });
  assert.equal((await api.call(alice.token, 'GET', `/v1/conversations/${id}/settings`)).settings.cleared_seq, 3);
  assert.deepEqual(await bobSees(id), ['The surprise is on Friday', 'Bring a cake', 'I will bake one']);

  // New messages show as usual; after a reload nothing older comes back.
  await api.send(bob.token, id, 'Did you get my messages?');
  for (const { page } of [laptop, phone]) await waitForMessage(page, 'Did you get my messages?');
  await phone.page.reload();
  await conversationRow(phone.page, 'Bob Stone').click();
  await waitForMessage(phone.page, 'Did you get my messages?');
  assert.deepEqual(await texts(phone.page), ['Did you get my messages?']);
  assertNoErrors(laptop.watch, phone.watch);
});
