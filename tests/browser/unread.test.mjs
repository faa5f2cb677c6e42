// Opening a conversation with many unread messages (issue 13, bug 2): the view lands on the
// first unread message under an "N unread messages" divider, older pages are loaded until it is
// there, and the read pointer moves only over what has been on screen; "Jump to first unread"
// brings the divider back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, conversationRow, signIn } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const READ = 5;
const UNREAD = 300;

// Bob sends 305 messages over REST as fast as they are acked.
const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone']],
  args: ['--limits.user_requests_per_second', '10000'],
});

/** Alice's direct conversation with Bob as the server has it (read_seq, unread_count). */
async function aliceView(conversationId) {
  return (await api.conversations(users.alice.token)).find((c) => c.id === conversationId);
}

async function waitFor(what, predicate, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether the element is inside the message log's visible part. */
function inView(locator) {
  return locator.evaluate((el) => {
    const log = el.closest('[role="log"]').getBoundingClientRect();
    const box = el.getBoundingClientRect();
    return box.bottom > log.top && box.top < log.bottom;
  });
}

test('a chat with 300 unread messages opens at the first unread one and reads only what was shown', async () => {
  const { alice, bob } = users;
  const first = await api.sendToUser(bob.token, alice.user.id, 'Old 1.');
  const id = first.conversation_id;
  for (let i = 2; i <= READ; i += 1) await api.send(bob.token, id, `Old ${i}.`);
  await api.receipt(alice.token, id, READ);
  for (let i = 1; i <= UNREAD; i += 1) await api.send(bob.token, id, `New ${i}.`);
  await waitFor('the server to count 300 unread', async () => (await aliceView(id)).unread_count === UNREAD);

  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await conversationRow(page, 'Bob Stone').getByTestId('unread-badge').filter({ hasText: '99+' }).waitFor();
  await conversationRow(page, 'Bob Stone').click();

  // Lands on the divider, the first unread message under it; the newest is far below.
  const divider = page.getByTestId('unread-divider');
  await divider.filter({ hasText: `${UNREAD} unread messages` }).waitFor();
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="unread-divider"]');
    const log = el?.closest('[role="log"]')?.getBoundingClientRect();
    return el && log && el.getBoundingClientRect().top >= log.top && el.getBoundingClientRect().bottom <= log.bottom;
  });
  assert.equal(await inView(bubble(page, 'New 1.')), true, 'the first unread message is on screen');
  assert.equal(await inView(bubble(page, 'Old 5.')), true, 'and the last read one just above the divider');
  const unread1 = Number(await bubble(page, 'New 1.').getAttribute('data-seq'));
  assert.equal(unread1, READ + 1);
  const newestShown = await page.evaluate(() => {
    const log = document.querySelector('[role="log"]').getBoundingClientRect();
    const seqs = [...document.querySelectorAll('[role="log"] [data-seq]')]
      .filter((el) => el.getBoundingClientRect().top < log.bottom).map((el) => Number(el.dataset.seq));
    return Math.max(...seqs);
  });
  assert.ok(newestShown < READ + UNREAD - 200, `only the first screenful is shown (up to seq ${newestShown})`);

  // What was shown is read, and nothing below it: the server's pointer stops there.
  const shown = await waitFor('the shown messages to be read', async () => {
    const view = await aliceView(id);
    return view.read_seq > READ ? view : null;
  });
  assert.ok(shown.read_seq <= newestShown, `read up to ${shown.read_seq}, shown up to ${newestShown}`);
  assert.equal(shown.unread_count, READ + UNREAD - shown.read_seq, 'the rest stays unread');
  assert.equal(await inView(divider), true, 'reading did not move the view');

  // Scrolling to the newest reads everything; "Jump to first unread" brings the divider back.
  await page.getByRole('button', { name: 'Jump to the newest message' }).click();
  await bubble(page, `New ${UNREAD}.`).waitFor();
  await waitFor('everything read', async () => (await aliceView(id)).read_seq === READ + UNREAD);
  assert.equal((await aliceView(id)).unread_count, 0);
  await page.getByRole('button', { name: 'Jump to first unread' }).click();
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="unread-divider"]');
    const log = el.closest('[role="log"]').getBoundingClientRect();
    return el.getBoundingClientRect().top >= log.top && el.getBoundingClientRect().bottom <= log.bottom;
  });

  // Opened again with nothing unread: no divider, the newest message at the bottom.
  await page.goto('/');
  await conversationRow(page, 'Bob Stone').click();
  await bubble(page, `New ${UNREAD}.`).waitFor();
  assert.equal(await inView(bubble(page, `New ${UNREAD}.`)), true);
  assert.equal(await divider.count(), 0, 'no divider without unread messages');
  assertNoErrors(watch);
});
