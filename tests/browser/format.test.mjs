// Message formatting (issue 13, "what users reach for first"): a safe subset of Markdown —
// bold, italic, strike, inline code, code blocks, quotes, lists — drawn as elements, never as
// HTML from the message (raw tags stay text); links and mentions work inside it; the list's
// preview shows the text without its marks; emoji-only messages are large; a very long message
// is folded until "Read more".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, bubble, conversationRow, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone']],
});

const INLINE = '**bold** and _italic_ and ~~gone~~ and `a < b` <b>not html</b> <img src=x onerror="window.pwned=1">';
const BLOCKS = '> quoted line\n\n- one\n- **two** at www.example.org, @alice\n\n```\nconst x = 1 * 2 * 3;\n```\n\n2. second\n3. third';
const LONG = Array.from({ length: 60 }, (_, i) => `Line ${i + 1} of a very long message.`).join('\n');

test('Markdown formatting is drawn as elements, raw HTML stays text; emoji alone are large; long text folds', async () => {
  const { alice, bob } = users;
  const { conversation_id: id } = await api.sendToUser(bob.token, alice.user.id, INLINE);
  for (const text of [BLOCKS, '🎉🔥', 'party 🎉', LONG]) await api.send(bob.token, id, text);
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  // The list shows the newest text without marks first; check the inline one's preview below.
  await conversationRow(page, 'Bob Stone').click();
  await waitForMessage(page, 'Line 60 of');

  const inline = bubble(page, 'not html');
  const text = inline.locator('.bubble__text');
  assert.equal(await text.locator('strong').textContent(), 'bold');
  assert.equal(await text.locator('em').textContent(), 'italic');
  assert.equal(await text.locator('s').textContent(), 'gone');
  assert.equal(await text.locator('code').textContent(), 'a < b');
  assert.equal(await text.locator('b, img').count(), 0, 'no element from the message\'s own tags');
  assert.match(await text.textContent(), /<b>not html<\/b> <img src=x onerror="window.pwned=1">$/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);

  const blocks = bubble(page, 'quoted line').locator('.bubble__text');
  assert.equal(await blocks.locator('blockquote').textContent(), 'quoted line');
  assert.deepEqual(await blocks.locator('ul > li').allTextContents(), ['one', 'two at www.example.org, @alice']);
  assert.equal(await blocks.locator('ul > li strong').textContent(), 'two');
  assert.equal(await blocks.locator('ul > li a').getAttribute('href'), 'https://www.example.org');
  assert.equal(await blocks.locator('ul > li .mention').textContent(), '@alice');
  assert.equal(await blocks.locator('pre code').textContent(), 'const x = 1 * 2 * 3;');
  assert.equal(await blocks.locator('ol').getAttribute('start'), '2');
  assert.deepEqual(await blocks.locator('ol > li').allTextContents(), ['second', 'third']);

  const jumbo = (t) => bubble(page, t).locator('.bubble__text').evaluate((el) => el.classList.contains('bubble__text--jumbo'));
  assert.equal(await jumbo('🎉🔥'), true, 'emoji alone are large');
  assert.equal(await jumbo('party 🎉'), false, 'emoji in text are not');

  const long = bubble(page, 'Line 1 of');
  const more = long.getByRole('button', { name: 'Read more' });
  const height = () => long.locator('.bubble__text').evaluate((el) => el.getBoundingClientRect().height);
  const folded = await height();
  assert.equal(await more.getAttribute('aria-expanded'), 'false');
  await more.click();
  await long.getByRole('button', { name: 'Show less' }).waitFor();
  assert.ok(await height() > folded * 2, `unfolded (${folded}px folded)`);

  // Previews drop the marks.
  await api.send(bob.token, id, '**Done** with _the_ `build`');
  await conversationRow(page, 'Bob Stone').locator('.conv-row__text').filter({ hasText: /^Done with the build$/ }).waitFor();
  assertNoErrors(watch);
});
