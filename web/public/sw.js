// Parley's service worker: Web Push notifications, what a click on one does, and a new push
// subscription when the browser's push service replaces the old one. Nothing else — no fetch
// handler, no cache: the app loads from the network as it does without it.
//
// Served as /sw.js (web/public is copied to the root of web/dist) with scope "/". The page's
// Content-Security-Policy has no worker-src, so script-src 'self' applies: a same-origin file.
//
// A push's data is the server's notification object (docs/protocol.md, "Push notifications"):
// {type, conversation_id, seq, count, mention, ts, sender?, conversation?, text?, emoji?}.

/* eslint-env serviceworker */

self.addEventListener('install', () => {
  // A new version takes over at once: it holds no state an older page could depend on.
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

/** The path that opens a conversation in the app (web/src/ui/router.ts). */
function conversationPath(id) {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? `/c/${id}` : '/';
}

/** The app's open windows, controlled or not (a page loaded before the worker is not). */
async function appWindows() {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return windows.filter((client) => new URL(client.url).origin === self.location.origin);
}

/** Title and options of the notification shown for one notification object. */
function describe(n) {
  const count = typeof n.count === 'number' && n.count > 1 ? n.count : 1;
  const senderName = n.sender && typeof n.sender.name === 'string' ? n.sender.name : null;
  const kind = n.conversation && n.conversation.kind;
  const groupTitle = n.conversation && typeof n.conversation.title === 'string' ? n.conversation.title : null;
  const isReaction = n.type === 'reaction';

  // push.content = none: no sender, no conversation, no text.
  let title = isReaction ? 'New reaction' : count > 1 ? 'New messages' : 'New message';
  if (kind === 'direct' && senderName) title = senderName;
  else if (groupTitle) title = groupTitle;
  else if (senderName) title = senderName;

  let body;
  if (count > 1) body = `${count} new messages`;
  else if (isReaction) {
    const what = typeof n.emoji === 'string' ? `reacted ${n.emoji}` : 'reacted';
    body = typeof n.text === 'string' ? `${what} to: ${n.text}` : `${what} to your message`;
  } else if (typeof n.text === 'string') body = n.text;
  else body = n.mention ? 'You were mentioned' : 'Open Parley to read it';
  // In a group or channel the title is the conversation: say who wrote.
  if (kind && kind !== 'direct' && senderName && count === 1) body = `${senderName}: ${body}`;

  return {
    title,
    options: {
      body,
      tag: `c${n.conversation_id}`,
      renotify: true,
      timestamp: typeof n.ts === 'number' ? n.ts : Date.now(),
      data: { conversation_id: n.conversation_id, seq: n.seq },
    },
  };
}

/**
 * Asks a window what it shows: { conversation_id, attentive } (the page answers on the port,
 * web/src/ui/push.ts). Its URL cannot tell: the app changes it with the History API, which a
 * client's url does not follow. No answer within half a second counts as not looking.
 */
function askWindow(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 500);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data);
    };
    client.postMessage({ type: 'parley.which' }, [channel.port2]);
  });
}

async function onPush(n) {
  if (!n || typeof n !== 'object' || typeof n.conversation_id !== 'number') {
    // Something we cannot read: still show something (userVisibleOnly), never nothing.
    return self.registration.showNotification('Parley', { body: 'New activity', tag: 'parley' });
  }
  // A window in front of the user already shows this conversation: no need to interrupt.
  // Chromium does not count that against the site (it does not require a notification while
  // one of the origin's tabs is visible).
  const windows = await appWindows();
  const looking = windows.filter((client) => client.visibilityState === 'visible' && client.focused);
  const answers = await Promise.all(looking.map((client) => askWindow(client)));
  if (answers.some((a) => a && a.attentive && a.conversation_id === n.conversation_id)) return;
  const { title, options } = describe(n);
  return self.registration.showNotification(title, options);
}

/**
 * A click on a notification: close it; an open window of the app is focused and told to open
 * the conversation (the page listens for { type: 'parley.open', conversation_id }); with no
 * window, a new one is opened at the conversation's URL.
 */
async function onNotificationClick(notification) {
  notification.close();
  const id = notification.data && notification.data.conversation_id;
  const windows = await appWindows();
  const target = windows.find((client) => client.focused) ?? windows.find((client) => client.visibilityState === 'visible') ?? windows[0];
  if (target) {
    target.postMessage({ type: 'parley.open', conversation_id: id });
    try {
      await target.focus();
    } catch {
      // focus() needs the click's user activation; the message is what matters.
    }
    return target;
  }
  return self.clients.openWindow(conversationPath(id));
}

// --- a subscription the push service replaced -------------------------------------------------
//
// The worker cannot tell the server itself (the sign-in's token lives in the page), so it hands
// the new subscription to the app's open windows; a signed-in page registers it (push.subscribe)
// and removes the old one (push.unsubscribe, web/src/ui/push.ts). With no window open, the app
// notices the next time it starts (the browser's subscription differs from the server's).

const DB_NAME = 'parley-push';
const DB_STORE = 'config';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(DB_STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Reads (value undefined) or writes one value of the worker's own small store. */
async function kept(key, value) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(DB_STORE, value === undefined ? 'readonly' : 'readwrite');
      const store = tx.objectStore(DB_STORE);
      const request = value === undefined ? store.get(key) : store.put(value, key);
      tx.oncomplete = () => resolve(value === undefined ? request.result : value);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * The push service ended `oldSubscription` (either may be null, as browsers give them). Without a
 * `newSubscription` the worker subscribes again, with the old one's server key or the one the
 * app left here (`parley.vapid`). Every window of the app is told
 * {type: 'push-subscription-changed', old_endpoint, subscription} — `subscription` is the new
 * one's JSON (endpoint, keys), or null when none could be made (the page then tries itself).
 * Returns that message.
 */
async function onSubscriptionChange(oldSubscription, newSubscription) {
  let subscription = newSubscription || null;
  if (!subscription) {
    try {
      const options = oldSubscription && oldSubscription.options;
      const applicationServerKey = (options && options.applicationServerKey) || (await kept('vapid'));
      if (applicationServerKey) subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    } catch {
      subscription = null;
    }
  }
  const message = {
    type: 'push-subscription-changed',
    old_endpoint: oldSubscription && typeof oldSubscription.endpoint === 'string' ? oldSubscription.endpoint : null,
    subscription: subscription ? subscription.toJSON() : null,
  };
  for (const client of await appWindows()) client.postMessage(message);
  return message;
}

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(onSubscriptionChange(event.oldSubscription || null, event.newSubscription || null));
});

// The app gives the server's VAPID public key (base64url) for a re-subscription with no window open.
self.addEventListener('message', (event) => {
  const data = event.data;
  if (data && data.type === 'parley.vapid' && typeof data.key === 'string') event.waitUntil(kept('vapid', data.key));
});

self.addEventListener('push', (event) => {
  let n = null;
  try {
    n = event.data ? event.data.json() : null;
  } catch {
    n = null;
  }
  event.waitUntil(onPush(n));
});

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(onNotificationClick(event.notification));
});

// The handlers by name, so that the browser tests can run the click's own logic on a real
// notification (no browser automation can click a system notification) and the re-subscription's
// (no automation can make a push service replace a subscription; see tests/browser).
self.parley = { onPush, onNotificationClick, describe, askWindow, onSubscriptionChange, kept };
