// Finding people (issue 13, "what users reach for first"): the new-chat, new-group and
// add-member fields suggest people as a name is typed (users.search): the user's contacts
// first, then the directory, which leaves out people who are not findable; more on request;
// arrow keys and Enter pick one. The "Findable by name" setting is the user's own switch.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { assertNoErrors, openSettings, signIn } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['bobby', 'Bobby Tables'],
    ['barb', 'Barbara Hidden'], ['basil', 'Basil Brush']],
  // Seventeen accounts from one address: above the default sign-up allowance.
  args: ['--auth.signups_per_address_per_hour', '100'],
});

before(async () => {
  for (let i = 1; i <= 12; i += 1) users[`zed${i}`] = await api.register(`zed${String(i).padStart(2, '0')}`, `Zed ${i}`);
  await api.sendToUser(users.bob.token, users.alice.user.id, 'Hi Alice');
  await api.call(users.barb.token, 'PATCH', '/v1/me/settings', { discoverable: false });
});

const suggested = (scope) => scope.getByRole('listbox', { name: 'Suggestions' }).locator('.suggestion__name').allTextContents();

test('new chat suggests contacts first, then findable people; a pick opens the chat', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await page.getByRole('button', { name: 'New chat' }).click();
  const dialog = page.getByRole('dialog', { name: 'New chat' });
  const field = dialog.getByRole('textbox', { name: 'Name or username' });
  await field.fill('bo');
  await dialog.getByRole('option', { name: /Bobby Tables/ }).waitFor();
  assert.deepEqual(await suggested(dialog), ['Bob Stone', 'Bobby Tables'], 'the contact first');
  assert.match(await dialog.getByRole('option', { name: /Bob Stone/ }).textContent(), /in your chats/);

  // Barbara is not findable by strangers: "ba" finds Basil only.
  await field.fill('ba');
  await dialog.getByRole('option', { name: /Basil Brush/ }).waitFor();
  assert.deepEqual(await suggested(dialog), ['Basil Brush']);

  // Arrow keys and Enter pick: the chat with Basil opens.
  await field.press('ArrowDown');
  assert.equal(await field.getAttribute('aria-activedescendant'), await dialog.getByRole('option').first().getAttribute('id'));
  await field.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('region', { name: 'Conversation with Basil Brush' }).waitFor();
  assertNoErrors(watch);
});

test('new group pages through many matches and adds the picked people as chips', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await page.getByRole('button', { name: 'New group' }).click();
  const dialog = page.getByRole('dialog', { name: 'New group' });
  const field = dialog.getByRole('textbox', { name: 'Members (by username)' });
  await field.fill('zed');
  await dialog.getByRole('option').nth(7).waitFor();
  assert.equal(await dialog.getByRole('option').count(), 8, 'a first page');
  await dialog.getByRole('button', { name: 'More people' }).click();
  await dialog.getByRole('option').nth(11).waitFor();
  const names = await suggested(dialog);
  assert.equal(new Set(names).size, 12, 'twelve different people, none twice');
  await dialog.getByRole('option').filter({ has: page.locator('.suggestion__name', { hasText: /^Zed 3$/ }) }).click();
  await dialog.getByRole('button', { name: 'Remove Zed 3' }).waitFor();
  await field.fill('zed');
  await dialog.getByRole('option').first().waitFor();
  assert.ok(!(await suggested(dialog)).includes('Zed 3'), 'a chosen person is not suggested again');
  assertNoErrors(watch);
});

test('"Findable by name" is stored with the account', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  const dialog = await openSettings(page);
  const toggle = dialog.getByRole('switch', { name: /Findable by name/ });
  await toggle.waitFor();
  await page.waitForFunction(() => !document.querySelector('input[role="switch"][disabled]'));
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  const deadline = Date.now() + 15_000;
  let settings;
  for (;;) {
    settings = (await api.call(users.alice.token, 'PATCH', '/v1/me/settings', {})).settings;
    if (settings.discoverable === false || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(settings.discoverable, false);
  assertNoErrors(watch);
});
