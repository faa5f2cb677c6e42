// How names and text are drawn (issue 13's bugs 3, 4, 5 and 6): right-to-left text gets its own
// direction in bubbles, quotes, previews and titles; avatar initials come from the letters of
// words, by grapheme; the floating day label is opaque, so text scrolling under it never shows
// through; a new group's preview names people by name, never "User 4"; www. and mailto: links
// are links (bug 12).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, signIn, waitForMessage } from './lib/app.mjs';
import { openPage } from './lib/browser.mjs';
import { startSuite } from './lib/suite.mjs';

const HEBREW = 'שלום עולם! mixed with English 123';

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['dana', 'דנה כהן'], ['lukasz', 'Łukasz Żak'],
    ['sally', '👩‍🚀 Sally Ride'], ['gus', 'Gus Grissom'], ['val', 'Valentina Tereshkova']],
});

/** The list row whose title is exactly `title` (previews such as "You added …" name people too). */
function rowTitled(page, title) {
  return page.locator('.conv-row').filter({ has: page.locator('.conv-row__title').getByText(title, { exact: true }) });
}

/** The direction an element resolves to (dir="auto" and <bdi> look at the text's first strong letter). */
function direction(locator) {
  return locator.evaluate((el) => (el.matches(':dir(rtl)') ? 'rtl' : 'ltr'));
}

test('right-to-left text and names are laid out right to left, English ones left to right', async () => {
  const { alice, dana } = users;
  const first = await api.sendToUser(dana.token, alice.user.id, 'Hello in English first');
  const conversationId = first.conversation_id;
  await api.send(dana.token, conversationId, HEBREW);
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');

  const row = rowTitled(page, 'דנה כהן');
  await row.waitFor();
  assert.equal(await direction(row.locator('.conv-row__title')), 'rtl', 'a Hebrew name in the list');
  await row.locator('.conv-row__text', { hasText: HEBREW }).waitFor();
  assert.equal(await direction(row.locator('.conv-row__text')), 'rtl', 'the Hebrew preview');

  await row.click();
  await waitForMessage(page, HEBREW);
  const bubbleText = (text) => page.locator('[data-testid="message"] .bubble__text', { hasText: text });
  assert.equal(await direction(bubbleText(HEBREW)), 'rtl', 'a Hebrew message');
  assert.equal(await direction(bubbleText('Hello in English first')), 'ltr', 'an English message');
  assert.equal(await direction(page.locator('.conversation__title')), 'rtl', 'the conversation header');
  // The text keeps its logical order: the Hebrew words start at the right edge of the bubble.
  const [textBox, firstWord] = await bubbleText(HEBREW).evaluate((el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node && !node.data.includes('שלום')) node = walker.nextNode();
    const range = document.createRange();
    const start = node.data.indexOf('שלום');
    range.setStart(node, start);
    range.setEnd(node, start + 4);
    const box = el.getBoundingClientRect();
    const word = range.getBoundingClientRect();
    return [{ left: box.left, right: box.right }, { left: word.left, right: word.right }];
  });
  assert.ok(textBox.right - firstWord.right < 2,
    `the first Hebrew word sits at the right edge (word ends at ${firstWord.right}, text at ${textBox.right})`);
  assertNoErrors(watch);
});

test('avatar initials come from the letters of words, by grapheme', async () => {
  const { alice, dana, lukasz, sally } = users;
  await api.createGroup(alice.token, 'Weekend trip 🏔️', [dana.user.id]);
  await api.createGroup(alice.token, '🎉🎉', [dana.user.id]);
  await api.sendToUser(lukasz.token, alice.user.id, 'cześć');
  await api.sendToUser(sally.token, alice.user.id, 'hi from orbit');
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  const initials = async (title) => {
    const avatar = rowTitled(page, title).locator('.avatar');
    await avatar.waitFor();
    return (await avatar.evaluate((el) => [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join(''))).trim();
  };
  assert.equal(await initials('Weekend trip 🏔️'), 'WT', 'the emoji is not a word');
  assert.equal(await initials('Łukasz Żak'), 'ŁŻ');
  assert.equal(await initials('👩‍🚀 Sally Ride'), 'SR', 'a leading emoji (one grapheme of several code points) is skipped');
  assert.equal(await initials('🎉🎉'), '🎉', 'no word with a letter: the first grapheme, whole');
  assert.equal(await initials('דנה כהן'), 'דכ');
  const own = (await page.locator('.sidebar__header .avatar').textContent()).trim();
  assert.equal(own, 'AL', 'the signed-in user\'s own avatar');
  assertNoErrors(watch);
});

test('the floating day label is opaque in light and dark themes', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, context, watch } = await openPage(browser, server.base, `alice-${colorScheme}`, { colorScheme });
    await signIn(page, 'alice');
    await rowTitled(page, 'דנה כהן').click();
    const label = page.locator('.day-separator span').first();
    await label.waitFor();
    const background = await label.evaluate((el) => getComputedStyle(el).backgroundColor);
    const alpha = /rgba\([^)]*,\s*([\d.]+)\)/.exec(background)?.[1];
    assert.ok(background.startsWith('rgb(') || Number(alpha) === 1,
      `${colorScheme}: the day label's background ${background} lets text show through`);
    assertNoErrors(watch);
    await context.close();
  }
});

test('a group made by a stranger shows its members by name in the list, before it is opened', async () => {
  const { alice, gus, val } = users;
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  // Every preview text the list shows from now on.
  await page.evaluate(() => {
    window.__previews = [];
    const record = () => document.querySelectorAll('.conv-row__preview').forEach((el) => window.__previews.push(el.textContent));
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  // Gus and Valentina have never talked to Alice: her client knows neither name.
  await api.createGroup(gus.token, 'Mercury', [alice.user.id, val.user.id]);
  const preview = rowTitled(page, 'Mercury').locator('.conv-row__preview');
  await preview.filter({ hasText: 'Gus Grissom added you and Valentina Tereshkova' }).waitFor();
  const shown = await page.evaluate(() => window.__previews);
  assert.deepEqual(shown.filter((text) => /User \d/.test(text)), [], 'no preview named anyone "User N"');
  assertNoErrors(watch);
});

test('www. and mailto: addresses are links, trailing punctuation is not part of them', async () => {
  const { alice, lukasz } = users;
  const text = 'See www.example.org, write to mailto:lukasz@example.org. Or https://example.net/a?b=1!';
  await api.sendToUser(lukasz.token, alice.user.id, text);
  const { page, watch } = await openPage(browser, server.base, 'alice');
  await signIn(page, 'alice');
  await rowTitled(page, 'Łukasz Żak').click();
  await waitForMessage(page, text);
  const links = await page.locator('[data-testid="message"] .bubble__text', { hasText: 'www.example.org' }).locator('a')
    .evaluateAll((nodes) => nodes.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')]));
  assert.deepEqual(links, [
    ['www.example.org', 'https://www.example.org', 'noopener noreferrer'],
    ['mailto:lukasz@example.org', 'mailto:lukasz@example.org', 'noopener noreferrer'],
    ['https://example.net/a?b=1', 'https://example.net/a?b=1', 'noopener noreferrer'],
  ]);
  assertNoErrors(watch);
});

test("a message's hover toolbar never covers its neighbours' text, names or times (bug 10)", async () => {
  const { alice, gus, val } = users;
  const { conversation } = await api.createGroup(gus.token, 'Toolbar check', [alice.user.id, val.user.id]);
  // Short and long messages, alternating senders, so names, times and both sides are involved.
  const texts = ['Short one', 'A much longer message that fills most of the width of its bubble, and then some more words to wrap',
    'ok', 'Another long line of text from the other side, long enough to reach the far edge of the conversation'];
  const senders = [gus, val, alice, gus, alice, val];
  for (let i = 0; i < senders.length; i += 1) await api.send(senders[i].token, conversation.id, `[${i + 1}] ${texts[i % texts.length]}`);
  for (const [label, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
    const { page, watch, context } = await openPage(browser, server.base, `alice-${label}`, { viewport });
    await signIn(page, 'alice');
    await rowTitled(page, 'Toolbar check').click();
    await waitForMessage(page, `[${senders.length}] `);
    const bubbles = page.locator('.bubble[data-seq]');
    const count = await bubbles.count();
    for (let i = 0; i < count; i += 1) {
      await bubbles.nth(i).hover();
      const bar = bubbles.nth(i).getByRole('toolbar', { name: 'Message actions' });
      await bar.waitFor();
      const overlaps = await bar.evaluate((toolbar) => {
        const own = toolbar.closest('.bubble');
        const b = toolbar.getBoundingClientRect();
        const hit = (r) => r.width > 0 && r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
        // Everything a neighbour shows: its bubble (text, time, ticks), sender names, reactions.
        return [...document.querySelectorAll('.bubble, .run__sender, .reactions, .system-line')]
          .filter((el) => !own.contains(el) && el !== own && hit(el.getBoundingClientRect()))
          .map((el) => `${el.className}: ${el.textContent.slice(0, 30)}`);
      });
      assert.deepEqual(overlaps, [], `${label}: the toolbar of message ${i + 1} covers its neighbours`);
    }
    assertNoErrors(watch);
    await context.close();
  }
});
