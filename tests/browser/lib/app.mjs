// What a person does in the web client, as Playwright steps, and small readers of its DOM.
// Locators use roles and labels (what a screen reader announces) rather than CSS classes.
import assert from 'node:assert/strict';
import { PASSWORD } from './api.mjs';

export async function signUp(page, username, displayName) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  if (displayName) await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('form', { name: 'Create account' }).getByRole('button', { name: 'Create account' }).click();
  await waitSignedIn(page);
}

export async function signIn(page, username) {
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in' }).click();
  await waitSignedIn(page);
}

/** Signed in and caught up with the server (the connection banner is gone). */
export async function waitSignedIn(page) {
  await page.getByRole('complementary', { name: 'Conversations' }).waitFor();
  await waitLive(page);
}

export async function waitLive(page, timeout = 15_000) {
  await page.locator('[data-testid="connection-banner"][data-phase="live"]').waitFor({ state: 'attached', timeout });
}

export async function startDirectChat(page, username) {
  await page.getByRole('button', { name: 'New chat' }).click();
  const dialog = page.getByRole('dialog', { name: 'New chat' });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByRole('button', { name: 'Start chat' }).click();
  await dialog.waitFor({ state: 'detached' });
}

export function composer(page) {
  return page.getByRole('textbox', { name: 'Message' });
}

export async function sendMessage(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** Opens a conversation by clicking its row in the list. */
export async function openConversation(page, title) {
  await conversationRow(page, title).click();
  await page.getByRole('region', { name: `Conversation with ${title}` }).waitFor();
}

export function conversationRow(page, title) {
  return page.getByRole('navigation', { name: 'Conversation list' }).getByRole('link').filter({ hasText: title });
}

/** The bubbles of the open conversation: { seq, status, text, clientMsgId } in DOM order. */
export function readMessages(page) {
  return page.locator('[data-testid="message"]').evaluateAll((nodes) =>
    nodes.map((node) => ({
      seq: node.dataset.seq ? Number(node.dataset.seq) : null,
      status: node.dataset.status,
      clientMsgId: node.dataset.clientMsgId ?? null,
      text: node.querySelector('.bubble__text')?.textContent ?? '',
    })),
  );
}

/** Every line of the open conversation with a seq (bubbles and system lines), in DOM order. */
export function readSeqs(page) {
  return page.locator('[data-seq]').evaluateAll((nodes) => nodes.map((node) => Number(node.dataset.seq)));
}

/**
 * Records every status a message bubble shows, from now on, in this document: a bubble that is
 * pending for one frame is still seen. Read with statusHistory().
 */
export async function recordStatuses(page) {
  await page.evaluate(() => {
    const log = (window.__statusLog = []);
    const note = (node) => {
      if (node instanceof HTMLElement && node.dataset.testid === 'message' && node.dataset.clientMsgId) {
        log.push({ id: node.dataset.clientMsgId, text: node.querySelector('.bubble__text')?.textContent ?? '', status: node.dataset.status });
      }
    };
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === 'attributes') note(record.target);
        for (const node of record.addedNodes) {
          if (!(node instanceof HTMLElement)) continue;
          note(node);
          node.querySelectorAll('[data-testid="message"]').forEach(note);
        }
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

/** The distinct statuses one message went through, in order, by its text. */
export async function statusHistory(page, text) {
  const log = await page.evaluate(() => window.__statusLog ?? []);
  const statuses = [];
  for (const entry of log) {
    if (entry.text !== text) continue;
    if (statuses[statuses.length - 1] !== entry.status) statuses.push(entry.status);
  }
  return statuses;
}

/** Waits until a message with this text shows with this status. */
export async function waitForMessage(page, text, status = 'sent', timeout = 15_000) {
  await page.locator(`[data-testid="message"][data-status="${status}"]`).filter({ hasText: text }).first().waitFor({ timeout });
}

/** Fails the test if any page logged an error. */
export function assertNoErrors(...watches) {
  const errors = watches.flatMap((watch) => watch.errors);
  assert.deepEqual(errors, [], `console or page errors:\n${errors.join('\n')}`);
}

/** Asserts seqs strictly increase by one (no gap, no duplicate) and returns them. */
export function assertContiguous(seqs, message) {
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${message}: seq ${seqs[i - 1]} is followed by ${seqs[i]} (all: ${seqs.join(',')})`);
  }
  return seqs;
}

/** Waits for a system line (membership, rename …) in the open conversation. */
export async function waitForSystemLine(page, text, timeout = 15_000) {
  await page.getByTestId('system-line').filter({ hasText: text }).first().waitFor({ timeout });
}
