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

export async function signIn(page, username, password = PASSWORD) {
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in' }).click();
  await waitSignedIn(page);
}

/** Signed in and caught up with the server (the connection banner is gone). */
export async function waitSignedIn(page) {
  // The list is a complementary landmark beside the conversation, the main one alone on a phone.
  await page.getByRole('complementary', { name: 'Conversations' }).or(page.getByRole('main', { name: 'Conversations' })).waitFor();
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

/** Ticks after the ack: receipts may move a message on to 'delivered' and 'read' at any moment. */
const ACKED = ['sent', 'delivered', 'read'];

/**
 * Waits until a message with this text shows with this status. 'sent' means "acknowledged":
 * sent, delivered or read (receipts move ticks on by themselves); the others are exact.
 */
export async function waitForMessage(page, text, status = 'sent', timeout = 15_000) {
  const statuses = status === 'sent' ? ACKED : [status];
  const selector = statuses.map((s) => `[data-testid="message"][data-status="${s}"]`).join(', ');
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout });
}

/** Asserts that a message's ticks went pending → sent, then possibly on to delivered and read. */
export function assertTickProgress(statuses, message) {
  assert.deepEqual(statuses.slice(0, 2), ['pending', 'sent'], `${message}: ${statuses.join(' → ')}`);
  const order = ['pending', 'sent', 'delivered', 'read'];
  for (let i = 1; i < statuses.length; i++) {
    assert.ok(order.indexOf(statuses[i]) > order.indexOf(statuses[i - 1]), `${message}: ticks went back (${statuses.join(' → ')})`);
  }
}

/** The bubble of the (first) message with this text in the open conversation. */
export function bubble(page, text, scope = page) {
  return scope.locator('[data-testid="message"]').filter({ hasText: text }).first();
}

/** Opens a message's "More actions" menu (hover shows the toolbar) and picks an item. */
export async function messageMenu(page, text, item, scope = page) {
  const target = bubble(page, text, scope);
  await target.hover();
  await target.getByRole('button', { name: 'More actions' }).click();
  await page.getByRole('menu', { name: 'Message actions' }).getByRole('menuitem', { name: item }).click();
}

/** Clicks a button of a message's toolbar ("React", "Reply", "Reply in thread"). */
export async function messageAction(page, text, action, scope = page) {
  const target = bubble(page, text, scope);
  await target.hover();
  await target.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: action, exact: true }).click();
}

/** Opens the emoji picker of a message and picks one (by its label, e.g. "Heart"). */
export async function react(page, text, label, scope = page) {
  await messageAction(page, text, 'React', scope);
  await page.getByRole('menu', { name: 'Add a reaction' }).getByRole('menuitemcheckbox', { name: label }).click();
}

/** The reaction chips of a message: [{ emoji, count, mine }]. */
export function readReactions(page, text, scope = page) {
  return bubble(page, text, scope).locator('.reaction').evaluateAll((chips) => chips.map((chip) => ({
    emoji: chip.dataset.emoji,
    count: Number(chip.querySelector('.reaction__count')?.textContent),
    mine: chip.getAttribute('aria-pressed') === 'true',
  })));
}

/** Makes the page hidden or visible, as switching tabs would (visibilitychange included). */
export async function setVisibility(page, state) {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** Signs out through the settings dialog (its own "Sign out" button, not a device's). */
export async function signOut(page) {
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('form', { name: 'Sign in' }).waitFor();
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

/** Opens the settings dialog and returns it. */
export async function openSettings(page) {
  await page.getByRole('button', { name: 'Settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  await dialog.waitFor();
  return dialog;
}

/**
 * Waits until the password strength hint in `scope` shows a verdict ('weak' or 'acceptable')
 * for what the field holds now, and returns its sentence and meter.
 */
export async function waitForStrength(scope, state) {
  const hint = scope.locator(`[data-testid="password-strength"][data-state="${state}"]`);
  await hint.waitFor();
  return hint.evaluate((node) => {
    const meter = node.querySelector('meter');
    return { text: node.textContent, value: meter?.value, low: meter?.low, max: meter?.max };
  });
}

/**
 * Waits until the field with this label (exact text, or a RegExp) is marked invalid and returns
 * the error tied to it by aria-describedby: the message must sit at the field, not elsewhere.
 */
export async function waitForFieldError(scope, label) {
  const input = scope.getByLabel(label, { exact: typeof label === 'string' });
  await input.and(scope.locator('[aria-invalid="true"]')).waitFor();
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
  const texts = [];
  for (const id of ids) {
    const node = scope.locator(`[id="${id}"][role="alert"]`);
    if (await node.count()) texts.push(await node.textContent());
  }
  return texts.join(' ');
}

/** Back on the sign-in screen with this notice (a sign-out, or a revocation from elsewhere). */
export async function waitSignedOut(page, notice) {
  await page.getByRole('form', { name: 'Sign in' }).waitFor();
  if (notice) await page.getByRole('status').filter({ hasText: notice }).waitFor();
}

/** The token this page signed in with (from localStorage), or null. */
export function sessionToken(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('parley.session') ?? 'null')?.token ?? null);
}

/**
 * Records the close code of every WebSocket the page's documents open, from the next navigation
 * on (the app's own handlers stay as they are). Read with closeCodes().
 */
export async function recordCloseCodes(page) {
  await page.addInitScript(() => {
    window.__closeCodes = [];
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('close', (event) => window.__closeCodes.push(event.code));
      }
    };
  });
}

export function closeCodes(page) {
  return page.evaluate(() => window.__closeCodes);
}
