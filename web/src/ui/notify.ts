// Browser notifications for messages that arrive while the tab is hidden (unless Web Push is on
// for this device: then the service worker shows them, push.ts), by the rules the server uses
// for push (state/notifyRules.ts: mute, the chat's level, do not disturb, quiet hours), and the
// unread count in the tab title.
import { useEffect } from 'preact/hooks';
import type { ChatClient } from '../state/client';
import { conversationNotifies, pausedNow } from '../state/notifyRules';
import { attachmentPreview, conversationTitle, totalUnread, userName } from '../state/selectors';
import { plainText } from './conversation/markdown';
import { pushFlag } from './push';
import { conversationPath, navigate } from './router';

export function useNotifications(client: ChatClient): void {
  useEffect(
    () =>
      client.onIncoming((event, conversation) => {
        if (document.visibilityState !== 'hidden') return;
        if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
        // With Web Push on for this device, the server decides and the service worker shows it
        // (a hidden tab is away, so the server notifies at once): not twice.
        if (pushFlag(client.userId)) return;
        const state = client.store.get();
        if (!conversationNotifies(conversation.meta, event, client.userId) || pausedNow(state.notifications)) return;
        const sender = userName(state, event.sender_id);
        const title = conversation.meta.kind === 'direct' ? sender : `${sender} in ${conversationTitle(state, conversation.meta)}`;
        const text = attachmentPreview(plainText(event.text ?? ''), event.attachments ?? []);
        const notification = new Notification(title, {
          body: text.length > 200 ? `${text.slice(0, 200)}…` : text,
          tag: `parley-${event.conversation_id}`,
        });
        notification.onclick = () => {
          window.focus();
          navigate(conversationPath(event.conversation_id));
          notification.close();
        };
      }),
    [client],
  );
}

/** "(3) Parley": unread messages in the tab title; the open conversation counts once hidden. */
export function useTitle(client: ChatClient, openId: number | null): void {
  useEffect(() => {
    const update = () => {
      const visible = document.visibilityState === 'visible';
      const total = totalUnread(client.store.get(), visible && openId !== null ? openId : undefined);
      const title = total > 0 ? `(${total}) Parley` : 'Parley';
      if (document.title !== title) document.title = title;
    };
    update();
    const unsubscribe = client.store.subscribe(update);
    document.addEventListener('visibilitychange', update);
    return () => {
      unsubscribe();
      document.removeEventListener('visibilitychange', update);
    };
  }, [client, openId]);
}
