// Message info in a direct chat and the edit history (issue 13, bug 12): "Message info" exists
// for one's own messages in direct chats too (not only in groups) and says Sent / Delivered /
// Read; an edited message's history is a dialog listing every version, opened from "edited" or
// from the message menu, for the author and the other members alike. "Forward" sends a message's
// text to another conversation picked from a searchable list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, conversationRow, messageMenu, openConversation, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers']],
});

test('message info in a direct chat says sent, delivered and read', async () => {
  const { alice, bob } = users;
  const { conversation_id: id, seq } = await api.sendToUser(alice.token, bob.user.id, 'Are you there?');
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await openConversation(page, 'Bob Stone');
  await waitForMessage(page, 'Are you there?');

  const stateInInfo = async () => {
    await messageMenu(page, 'Are you there?', 'Message info');
    const dialog = page.getByRole('dialog', { name: 'Message info' });
    const state = await dialog.getByTestId('message-state').textContent();
    assert.match(await dialog.textContent(), /Sent \S/, 'the time it was sent');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    return state;
  };
  assert.equal(await stateInInfo(), 'Sent, not delivered yet');
  await api.call(bob.token, 'POST', `/v1/conversations/${id}/receipts`, { delivered_seq: seq });
  await waitForMessage(page, 'Are you there?', 'delivered');
  assert.equal(await stateInInfo(), 'Delivered');
  await api.receipt(bob.token, id, seq);
  await waitForMessage(page, 'Are you there?', 'read');
  assert.equal(await stateInInfo(), 'Read');
  assertNoErrors(watch);
});

test("an edited message's history lists every version, for its author and for the others", async () => {
  const { alice, bob } = users;
  const { conversation_id: id, seq } = await api.sendToUser(bob.token, alice.user.id, 'Lunch at 12?');
  await api.call(bob.token, 'PATCH', `/v1/conversations/${id}/messages/${seq}`, { text: 'Lunch at 12:30?' });
  await api.call(bob.token, 'PATCH', `/v1/conversations/${id}/messages/${seq}`, { text: 'Lunch at 13:00?' });
  const versions = async (dialog) => dialog.locator('.edit-history__version').evaluateAll((items) =>
    items.map((item) => [item.querySelector('.edit-history__label').textContent.split(' · ')[0], item.querySelector('.edit-history__text').textContent]));
  const expected = [['Original', 'Lunch at 12?'], ['Edit 1', 'Lunch at 12:30?'], ['Current', 'Lunch at 13:00?']];

  for (const name of ['alice', 'bob']) {
    const { page, watch, context } = await openPage(browser, server.base, name);
    await signIn(page, name);
    await conversationRow(page, name === 'alice' ? 'Bob Stone' : 'Alice Liddell').click();
    await waitForMessage(page, 'Lunch at 13:00?');
    // From the "edited" label...
    await bubble(page, 'Lunch at 13:00?').getByRole('button', { name: /edited|edit history/i }).click();
    let dialog = page.getByRole('dialog', { name: 'Edit history' });
    await dialog.locator('.edit-history__version').nth(2).waitFor();
    assert.deepEqual(await versions(dialog), expected, `${name}: from the label`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // ...and from the menu.
    await messageMenu(page, 'Lunch at 13:00?', 'Edit history');
    dialog = page.getByRole('dialog', { name: 'Edit history' });
    await dialog.locator('.edit-history__version').nth(2).waitFor();
    assert.deepEqual(await versions(dialog), expected, `${name}: from the menu`);
    assertNoErrors(watch);
    await context.close();
  }
});

test('forward sends the text to the conversation picked in the dialog', async () => {
  const { alice, bob, carol } = users;
  const { conversation_id: fromBob } = await api.sendToUser(bob.token, alice.user.id, 'The **plan** is ready');
  const { conversation_id: withCarol } = await api.sendToUser(carol.token, alice.user.id, 'Hello Alice');
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await conversationRow(page, 'Bob Stone').click();
  await waitForMessage(page, 'is ready');
  await messageMenu(page, 'is ready', 'Forward');
  const dialog = page.getByRole('dialog', { name: 'Forward message' });
  assert.deepEqual(await dialog.locator('.forward__target span[dir]').allTextContents(), ['Carol Danvers'], 'every other conversation, not this one');
  await dialog.getByRole('searchbox').fill('car');
  await dialog.getByRole('button', { name: 'Carol Danvers' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByText('Forwarded to Carol Danvers.').waitFor();
  const deadline = Date.now() + 15_000;
  let last;
  while (Date.now() < deadline) {
    last = (await api.allEvents(carol.token, withCarol)).at(-1);
    if (last.text === 'The **plan** is ready') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(last.text, 'The **plan** is ready', 'the text as written, marks included');
  assert.equal(last.sender_id, alice.user.id);
  assert.notEqual(withCarol, fromBob);
  assertNoErrors(watch);
});
