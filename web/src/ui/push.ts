// Web Push on this device: the service worker (/sw.js, web/public/sw.js), the browser's push
// subscription and the server's copy of it (protocol "push.subscribe", "push.subscriptions",
// "push.unsubscribe"). Notifications are turned on only from the user's click in Settings;
// afterwards every load of the app sends the subscription again (push services rotate
// endpoints, and a new sign-in needs it registered under its own token) and removes this
// sign-in's entries for endpoints the browser no longer has. When the push service replaces the
// subscription while a page is open, the worker hands the page the new one
// (`push-subscription-changed`, public/sw.js), which is registered the same way.
import { useEffect } from 'preact/hooks';
import { ProtocolError, type PushSubscriptionInfo } from '../protocol/types';
import type { ChatClient } from '../state/client';
import { describeError } from '../state/commands';
import { conversationPath, navigate, parseRoute } from './router';

export type PushState =
  | { kind: 'unsupported' }
  | { kind: 'blocked' }
  | { kind: 'off' }
  | { kind: 'on' }
  /** `action`: what failed, turning on or turning off. */
  | { kind: 'failed'; action: 'on' | 'off'; reason: string };

/** Whether this user turned notifications on in this browser (two accounts may share one). */
const flagKey = (userId: number) => `parley.push.${userId}`;

/** How long the browser's push service may take to subscribe before we give up. */
const SUBSCRIBE_TIMEOUT_MS = 20_000;

export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    typeof Notification !== 'undefined'
  );
}

let registering: Promise<ServiceWorkerRegistration> | null = null;

/** Registers /sw.js once per page (it shows pushed notifications and handles their clicks). */
export function registerServiceWorker(): Promise<ServiceWorkerRegistration> {
  registering ??= navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error: unknown) => {
    registering = null;
    throw error;
  });
  return registering;
}

/** Whether this user has push on for this device. */
export function pushFlag(userId: number): boolean {
  try {
    return localStorage.getItem(flagKey(userId)) === '1';
  } catch {
    return false;
  }
}

/**
 * After this user signs out of this browser: the server has already deleted the sign-in's
 * subscriptions; the next sign-in starts with notifications off until turned on again. The
 * browser's subscription stays (another account of this browser may use it).
 */
export function forgetPush(userId: number): void {
  setPushFlag(userId, false);
}

function setPushFlag(userId: number, on: boolean): void {
  try {
    if (on) localStorage.setItem(flagKey(userId), '1');
    else localStorage.removeItem(flagKey(userId));
  } catch {
    // storage full or refused: the state is read from the browser next time
  }
}

/** base64url (the hello's vapid_public_key) → bytes, for applicationServerKey. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameBytes(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

/** The browser's push subscription of this origin, if any (without registering anything). */
async function browserSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration('/');
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/** Tells the server where to notify this device (push.subscribe with the subscription's JSON). */
async function sendSubscription(client: ChatClient, json: PushSubscriptionJSON): Promise<PushSubscriptionInfo> {
  const reply = await client.request<{ subscription: PushSubscriptionInfo }>('push.subscribe', {
    kind: 'webpush',
    endpoint: json.endpoint,
    keys: json.keys,
  });
  return reply.subscription;
}

/** The user's Web Push entries at the server (push.subscriptions, every device). */
async function serverSubscriptions(client: ChatClient): Promise<PushSubscriptionInfo[]> {
  const reply = await client.request<{ subscriptions: PushSubscriptionInfo[] }>('push.subscriptions');
  return reply.subscriptions.filter((s) => s.kind === 'webpush');
}

/** push.unsubscribe of each; one already gone (another tab removed it) is no failure. */
async function removeSubscriptions(client: ChatClient, stale: PushSubscriptionInfo[]): Promise<void> {
  for (const s of stale) {
    try {
      await client.request('push.unsubscribe', { subscription_id: s.id });
    } catch (error) {
      if (!(error instanceof ProtocolError && error.code === 'not_found')) throw error;
    }
  }
}

/**
 * Makes the server's entries for this browser its current subscription: registers `current`, then
 * removes this sign-in's other Web Push entries (`this_device`: one browser has one subscription)
 * and any entry of `oldEndpoint` (the one the push service replaced).
 */
async function registerCurrent(client: ChatClient, current: PushSubscriptionJSON, oldEndpoint: string | null): Promise<void> {
  await sendSubscription(client, current);
  const stale = (await serverSubscriptions(client)).filter(
    (s) => s.endpoint !== current.endpoint && (s.this_device || (oldEndpoint !== null && s.endpoint === oldEndpoint)),
  );
  await removeSubscriptions(client, stale);
}

/** Leaves the server's VAPID key with the worker, for a re-subscription with no window open. */
async function giveKeyToWorker(key: string | null): Promise<void> {
  if (!key) return;
  const registration = await navigator.serviceWorker.getRegistration('/');
  (registration?.active ?? registration?.waiting ?? registration?.installing)?.postMessage({ type: 'parley.vapid', key });
}

/** A subscription for the server's key, without a prompt (the permission is granted already). */
async function subscribeAgain(client: ChatClient): Promise<PushSubscription | null> {
  const key = client.vapidPublicKey;
  if (!key || Notification.permission !== 'granted') return null;
  await registerServiceWorker();
  const registration = await navigator.serviceWorker.ready;
  return withTimeout(
    registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) }),
    SUBSCRIBE_TIMEOUT_MS,
    'The browser’s push service did not answer.',
  );
}

/**
 * Once live with push on for this user: the browser's subscription is what the server has for
 * this sign-in. A subscription the browser lost (the push service ended it) is made again; if
 * that fails, push is off on this device and the sign-in's entries, which reach nothing, go.
 */
async function checkSubscription(client: ChatClient): Promise<void> {
  let subscription = await browserSubscription();
  if (!subscription) subscription = await subscribeAgain(client).catch(() => null);
  if (subscription) {
    await registerCurrent(client, subscription.toJSON(), null);
    await giveKeyToWorker(client.vapidPublicKey);
    return;
  }
  // Off: the page's own notifications of a hidden tab take over again.
  setPushFlag(client.userId, false);
  await removeSubscriptions(client, (await serverSubscriptions(client)).filter((s) => s.this_device));
}

/** What the worker posts when the push service replaced the subscription (public/sw.js). */
interface SubscriptionChanged {
  type: 'push-subscription-changed';
  old_endpoint: string | null;
  subscription: PushSubscriptionJSON | null;
}

/**
 * The worker's news of a replaced subscription: registered for this user if push is on here, or
 * if the server has the old endpoint for this user (then it is on). Without a new subscription
 * from the worker, the page makes one itself.
 */
async function subscriptionChanged(client: ChatClient, change: SubscriptionChanged): Promise<void> {
  const known = change.old_endpoint !== null && (await serverSubscriptions(client)).some((s) => s.endpoint === change.old_endpoint);
  if (!pushFlag(client.userId) && !known) return;
  let current = change.subscription;
  if (!current?.endpoint) {
    const made = (await browserSubscription()) ?? (await subscribeAgain(client));
    current = made?.toJSON() ?? null;
  }
  if (!current?.endpoint) return; // checkSubscription() on the next start settles it
  await registerCurrent(client, current, change.old_endpoint);
  setPushFlag(client.userId, true);
}

/** The state to show in Settings, read from the browser and this device's flag. */
export async function readPushState(userId: number): Promise<PushState> {
  if (!pushSupported()) return { kind: 'unsupported' };
  if (Notification.permission === 'denied') return { kind: 'blocked' };
  if (Notification.permission !== 'granted' || !pushFlag(userId)) return { kind: 'off' };
  const subscription = await browserSubscription().catch(() => null);
  return subscription ? { kind: 'on' } : { kind: 'off' };
}

function reasonOf(error: unknown): string {
  if (error instanceof ProtocolError) return describeError(error);
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Turns notifications on: asks the permission (call this from a click only), registers the
 * service worker, subscribes with the server's key and registers the subscription with it.
 */
export async function enablePush(client: ChatClient): Promise<PushState> {
  if (!pushSupported()) return { kind: 'unsupported' };
  // First, before any other await: the prompt needs the click's user activation.
  const permission = await Notification.requestPermission();
  if (permission === 'denied') return { kind: 'blocked' };
  if (permission !== 'granted') return { kind: 'off' };
  try {
    const key = client.vapidPublicKey;
    if (!key) return { kind: 'failed', action: 'on', reason: 'This server does not offer push notifications.' };
    const applicationServerKey = base64UrlToBytes(key);
    await registerServiceWorker();
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    // A subscription made for another server key cannot be used with this one.
    if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await withTimeout(
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey }),
      SUBSCRIBE_TIMEOUT_MS,
      'The browser’s push service did not answer.',
    );
    await registerCurrent(client, subscription.toJSON(), null);
    setPushFlag(client.userId, true);
    await giveKeyToWorker(key).catch(() => {});
    return { kind: 'on' };
  } catch (error) {
    return { kind: 'failed', action: 'on', reason: reasonOf(error) };
  }
}

/** Turns notifications off on this device: the server forgets it, the browser unsubscribes. */
export async function disablePush(client: ChatClient): Promise<PushState> {
  try {
    const subscription = await browserSubscription();
    const reply = await client.request<{ subscriptions: PushSubscriptionInfo[] }>('push.subscriptions');
    const mine = reply.subscriptions.filter(
      (s) => s.kind === 'webpush' && (subscription ? s.endpoint === subscription.endpoint : s.this_device),
    );
    for (const s of mine) await client.request('push.unsubscribe', { subscription_id: s.id });
    await subscription?.unsubscribe();
    setPushFlag(client.userId, false);
    return { kind: 'off' };
  } catch (error) {
    return { kind: 'failed', action: 'off', reason: reasonOf(error) };
  }
}

/**
 * For the signed-in app: registers the service worker, opens the conversation a notification
 * click asks for, registers a subscription the worker says replaced the old one, and once live
 * checks this device's subscription against the server's if push is on.
 */
export function usePush(client: ChatClient, live: boolean): void {
  useEffect(() => {
    if (!pushSupported()) return;
    const onMessage = (event: MessageEvent) => {
      const data = event.data as { type?: string; conversation_id?: unknown } | null;
      if (data?.type === 'push-subscription-changed') {
        subscriptionChanged(client, data as SubscriptionChanged).catch((error: unknown) => console.warn('new push subscription not registered:', error));
        return;
      }
      if (data?.type === 'parley.which') {
        // The worker asks before showing a notification: not for the chat the user is reading.
        const route = parseRoute(location.pathname);
        event.ports[0]?.postMessage({
          conversation_id: route.name === 'conversation' ? route.id : null,
          attentive: document.visibilityState === 'visible' && document.hasFocus(),
        });
        return;
      }
      if (data?.type !== 'parley.open') return;
      const id = data.conversation_id;
      navigate(typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? conversationPath(id) : '/');
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    navigator.serviceWorker.startMessages();
    registerServiceWorker().catch((error: unknown) => console.warn('service worker not registered:', error));
    return () => navigator.serviceWorker.removeEventListener('message', onMessage);
  }, [client]);

  useEffect(() => {
    if (!live || !pushSupported() || Notification.permission !== 'granted' || !pushFlag(client.userId)) return;
    checkSubscription(client).catch((error: unknown) => console.warn('push subscription not renewed:', error));
  }, [client, live]);
}
