// Settings → Profile (issue 13, "profile and settings"): the display name is changed in the
// browser (account.update_profile); the user's own header and a contact's list and chat show
// the new name live (the server's `user` frame), a reload keeps it, and a name that imitates
// another user's username is refused at its field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, conversationRow, openSettings, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers']],
});

test('a new display name shows at once for the user and live for a contact; an imitation is refused', async () => {
  const { alice, bob } = users;
  await api.sendToUser(alice.token, bob.user.id, 'Hello Bob');
  const a = await openPage(browser, server.base, 'alice');
  const b = await openPage(browser, server.base, 'bob');
  await signIn(a.page, 'alice');
  await signIn(b.page, 'bob');
  await conversationRow(b.page, 'Alice Liddell').click();
  await waitForMessage(b.page, 'Hello Bob');

  const dialog = await openSettings(a.page);
  const field = dialog.getByRole('textbox', { name: 'Display name' });
  assert.equal(await field.inputValue(), 'Alice Liddell');
  await field.fill('bob');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'looks like another user’s username' }).waitFor();
  assert.equal(await field.getAttribute('aria-invalid'), 'true');

  await field.fill('Alice Pleasance');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await a.page.locator('.sidebar__name').filter({ hasText: /^Alice Pleasance$/ }).waitFor();
  // Bob, in the chat with her: the list row and the header follow without a reload.
  await conversationRow(b.page, 'Alice Pleasance').waitFor();
  await b.page.getByRole('region', { name: 'Conversation with Alice Pleasance' }).waitFor();

  await a.page.reload();
  await a.page.locator('.sidebar__name').filter({ hasText: /^Alice Pleasance$/ }).waitFor();
  assert.equal((await api.call(bob.token, 'GET', `/v1/users/${alice.user.id}`)).user.display_name, 'Alice Pleasance');
  assertNoErrors(a.watch, b.watch);
});

test('a name changed while a device was away is the new one after it reconnects (group members too)', async () => {
  const { alice, bob, carol } = users;
  const { conversation } = await api.createGroup(carol.token, 'Climbing', [alice.user.id, bob.user.id]);
  await api.send(bob.token, conversation.id, 'Who brings the rope?');
  const c = await openPage(browser, server.base, 'carol');
  await signIn(c.page, 'carol');
  await conversationRow(c.page, 'Climbing').click();
  await waitForMessage(c.page, 'Who brings the rope?');
  const sender = c.page.locator('.run__sender').filter({ hasText: /^Bob Stone$/ });
  await sender.waitFor();

  // Carol's tab is closed (her device keeps its cache); Bob renames himself meanwhile.
  await c.page.goto('about:blank');
  await api.call(bob.token, 'PATCH', '/v1/me', { display_name: 'Robert Stone' });
  await c.page.goto('/');
  await conversationRow(c.page, 'Climbing').click();
  await c.page.locator('.run__sender').filter({ hasText: /^Robert Stone$/ }).waitFor();
  assert.equal(await sender.count(), 0, 'the cached name was replaced');
  assertNoErrors(c.watch);
});
