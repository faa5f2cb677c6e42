// Accessibility (issue 13, bug 9): axe-core (the npm package, run in the page) finds no
// violation on any main screen — sign-in, the list with a direct chat and a group open, the
// details panel, the new-chat and settings dialogs, a picture and a file card, the lightbox, a
// file waiting in the composer — in light and dark, at desktop and phone
// width. axe-core is a test dependency only; nothing of it ships in the web client.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, test } from 'node:test';
import { DESKTOP, openPage, PHONE } from './lib/browser.mjs';
import { assertNoErrors, conversationRow, messageMenu, signIn, waitForMessage } from './lib/app.mjs';
import { png, uploadFile } from './lib/media.mjs';
import { startSuite } from './lib/suite.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const { server, browser, api, users } = await startSuite({
  people: [['alice', 'Alice Liddell'], ['bob', 'Bob Stone'], ['carol', 'Carol Danvers']],
});

before(async () => {
  const { alice, bob, carol } = users;
  const { conversation } = await api.createGroup(alice.token, 'Book club', [bob.user.id, carol.user.id]);
  const question = await api.send(bob.token, conversation.id, 'Chapter three tonight? @alice');
  await api.send(carol.token, conversation.id, 'Yes, see www.example.org for the schedule');
  await api.sendWith(carol.token, conversation.id, 'Which edition?', { thread_root_seq: question.seq });
  await api.react(carol.token, conversation.id, question.seq, '👍');
  await api.sendWith(alice.token, conversation.id, 'Count me in', { reply_to_seq: question.seq });
  const archived = await api.sendToUser(carol.token, alice.user.id, 'Old news');
  await api.call(alice.token, 'PATCH', `/v1/conversations/${archived.conversation_id}/settings`, { archived: true, muted_until: -1 });
  const direct = await api.sendToUser(bob.token, alice.user.id, 'Lunch tomorrow?');
  // A picture with a caption and a file card (issue 14).
  const photo = await uploadFile(api, bob.token, 'terrace.png', 'image/png', png(120, 80));
  const menu = await uploadFile(api, bob.token, 'menu.txt', 'text/plain', Buffer.from('Soup of the day\n'));
  await api.sendWith(bob.token, direct.conversation_id, 'This terrace', { attachments: [{ media_id: photo.id }, { media_id: menu.id }] });
  await api.send(alice.token, direct.conversation_id, 'Sure, 12:30');
});

/** axe-core's violations on the page as it is now: "rule: target (summary)" lines. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} [${v.impact}]: ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ').trim()}`));
  });
  return found;
}

for (const colorScheme of ['light', 'dark']) {
  for (const [width, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`no axe-core violation on the main screens (${colorScheme}, ${width})`, async () => {
      // bypassCSP: axe-core is injected as a script the page's strict policy would refuse.
      const { context, page, watch } = await openPage(browser, server.base, `a11y-${colorScheme}-${width}`,
        { viewport, colorScheme, bypassCSP: true });
      const found = {};
      await page.goto('/');
      await page.getByRole('button', { name: 'Sign in' }).first().waitFor();
      found['sign-in'] = await violations(page);
      await signIn(page, 'alice');
      found.list = await violations(page);
      await conversationRow(page, 'Book club').hover();
      await page.getByRole('button', { name: 'Chat options: Book club' }).click();
      await page.getByRole('menu').waitFor();
      found['row menu'] = await violations(page);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: /^Archived/ }).click();
      await conversationRow(page, 'Carol Danvers').waitFor();
      found.archived = await violations(page);
      await page.getByRole('button', { name: 'Back to chats' }).click();
      for (const [title, text] of [['Book club', 'Count me in'], ['Bob Stone', 'Sure, 12:30']]) {
        await conversationRow(page, title).click();
        await waitForMessage(page, text);
        found[title] = await violations(page);
        await page.locator('.bubble').filter({ hasText: text }).hover();
        found[`${title} message toolbar`] = await violations(page);
        if (title === 'Book club') {
          await page.getByRole('button', { name: 'Emoji', exact: true }).click();
          await page.getByRole('dialog', { name: 'Emoji' }).getByRole('group', { name: 'Smileys & emotion' }).waitFor();
          found['emoji picker'] = await violations(page);
          await page.keyboard.press('Escape');
          await page.locator('.bubble__thread').first().click();
          await page.getByRole('complementary', { name: 'Thread' }).getByText('Which edition?').waitFor();
          found['thread'] = await violations(page);
          await page.keyboard.press('Escape');
          await messageMenu(page, text, 'Forward');
          await page.getByRole('dialog', { name: 'Forward message' }).waitFor();
          found.forward = await violations(page);
          await page.keyboard.press('Escape');
        } else {
          // A picture and a file card in the timeline, the lightbox, a file waiting in the composer.
          const picture = page.getByRole('button', { name: 'Open Photo terrace.png' });
          await picture.locator('[data-loaded="true"]').waitFor();
          await page.getByRole('link', { name: 'Download menu.txt' }).waitFor();
          found.attachments = await violations(page);
          await picture.click();
          await page.getByRole('dialog', { name: 'terrace.png' }).getByTestId('lightbox-image').and(page.locator('[data-loaded="true"]')).waitFor();
          found.lightbox = await violations(page);
          await page.keyboard.press('Escape');
          await page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('notes') });
          await page.getByTestId('composer-file').waitFor();
          found['composer with a file'] = await violations(page);
          await page.getByRole('button', { name: 'Remove notes.txt' }).click();
        }
        await page.getByRole('button', { name: 'Details', exact: true }).click();
        await page.getByRole('heading', { name: /info$/ }).waitFor();
        found[`${title} details`] = await violations(page);
        await page.keyboard.press('Escape');
        if (width === 'phone') await page.getByRole('button', { name: 'Back to conversations' }).click();
      }
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByRole('dialog').waitFor();
      found['new chat'] = await violations(page);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'New group' }).click();
      await page.getByRole('dialog').waitFor();
      found['new group'] = await violations(page);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByRole('dialog').waitFor();
      found.settings = await violations(page);
      // One line per distinct problem (rule, element kind and colours), with the first screen showing it.
      const key = (line) => line.replace(/\[datetime="[^"]*"\]|:nth-child\(\d+\)|\[data-user-id="\d+"\]|\[href\$="[^"]*"\]/g, '').replace(/^(\S+).*?(\S+) —/, '$1 $2 —');
      const first = new Map();
      for (const [screen, list] of Object.entries(found)) {
        for (const line of list) if (!first.has(key(line))) first.set(key(line), `${screen}: ${line}`);
      }
      const all = [...first.values()];
      assert.deepEqual(all, [], `axe-core violations (${colorScheme}, ${width}):\n${all.join('\n')}`);
      assertNoErrors(watch);
      await context.close();
    });
  }
}
