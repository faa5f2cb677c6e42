// Moving between conversations (issue 13, bugs 1 and 11): however many conversations were
// opened one after another, the app's "Back to conversations" on a phone and the browser's own
// back button both land on the list; a message box's draft survives a reload and shows in the
// list as "Draft:"; Enter in the conversation search opens the first match (bug 12).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { assertNoErrors, composer, conversationRow, signIn, waitForMessage } from './lib/app.mjs';
import { DESKTOP, openPage, PHONE } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carl', 'Carl Sagan']],
});

before(async () => {
  await api.sendToUser(users.bob.token, users.alice.user.id, 'hi from bob');
  await api.sendToUser(users.carl.token, users.alice.user.id, 'hi from carl');
});

const pathOf = (page) => new URL(page.url()).pathname;

/** Opens A, then B, then A again from the list (the desktop layout shows the list beside them). */
async function openThree(page) {
  for (const [name, text] of [['Bob Stone', 'hi from bob'], ['Carl Sagan', 'hi from carl'], ['Bob Stone', 'hi from bob']]) {
    await conversationRow(page, name).click();
    await page.getByRole('region', { name: `Conversation with ${name}` }).waitFor();
    await waitForMessage(page, text);
  }
}

test('on a phone, Back lands on the list after several conversations were opened', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice', { viewport: DESKTOP });
  await signIn(page, 'alice');
  await openThree(page);
  await page.setViewportSize(PHONE);
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await conversationRow(page, 'Carl Sagan').waitFor();
  assert.equal(pathOf(page), '/', 'one press of Back shows the list');
  assert.equal(await page.getByRole('region', { name: /^Conversation with/ }).count(), 0, 'no conversation is open');
  assertNoErrors(watch);
});

test("the browser's own back button goes from a conversation to the list, and forward returns", async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice', { viewport: DESKTOP });
  await signIn(page, 'alice');
  await openThree(page);
  await page.goBack();
  await page.waitForFunction(() => location.pathname === '/');
  assert.equal(await page.getByRole('region', { name: /^Conversation with/ }).count(), 0, 'the list, no conversation open');
  await page.goForward();
  await page.getByRole('region', { name: 'Conversation with Bob Stone' }).waitFor();
  assertNoErrors(watch);
});

test('a draft survives a reload, and the list shows it as "Draft:" while another chat is open', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice', { viewport: DESKTOP });
  await signIn(page, 'alice');
  await conversationRow(page, 'Bob Stone').click();
  await composer(page).fill('half a thought about the');
  await page.reload();
  await page.getByRole('region', { name: 'Conversation with Bob Stone' }).waitFor();
  assert.equal(await composer(page).inputValue(), 'half a thought about the',
    'the draft is back in the box after the reload');
  await conversationRow(page, 'Carl Sagan').click();
  await page.getByRole('region', { name: 'Conversation with Carl Sagan' }).waitFor();
  const draft = conversationRow(page, 'Bob Stone').getByTestId('row-draft');
  assert.equal((await draft.textContent()).trim(), 'Draft: half a thought about the');
  // Sent, the draft is gone: from the list and after another reload.
  await conversationRow(page, 'Bob Stone').click();
  await composer(page).press('End');
  await composer(page).pressSequentially(' weekend');
  await composer(page).press('Enter');
  await waitForMessage(page, 'half a thought about the weekend');
  await conversationRow(page, 'Carl Sagan').click();
  await page.getByRole('region', { name: 'Conversation with Carl Sagan' }).waitFor();
  assert.equal(await conversationRow(page, 'Bob Stone').getByTestId('row-draft').count(), 0, 'no draft once sent');
  await page.reload();
  await conversationRow(page, 'Bob Stone').click();
  await page.getByRole('region', { name: 'Conversation with Bob Stone' }).waitFor();
  assert.equal(await composer(page).inputValue(), '', 'nothing comes back after sending');
  assertNoErrors(watch);
});

test('Enter in the conversation search opens the first match', async () => {
  const { page, watch } = await openPage(browser, server.base, 'alice', { viewport: DESKTOP });
  await signIn(page, 'alice');
  const search = page.getByRole('searchbox', { name: 'Search conversations' });
  await search.fill('carl');
  await search.press('Enter');
  await page.getByRole('region', { name: 'Conversation with Carl Sagan' }).waitFor();
  assert.match(pathOf(page), /^\/c\/\d+$/);
  assertNoErrors(watch);
});
