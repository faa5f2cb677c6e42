// The signed-in layout: connection banner, sidebar and conversation side by side, or, on a
// narrow screen, one of the two (data-view tells the stylesheet which).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationView, type Panel } from './conversation/ConversationView';
import { Icon } from './common/icons';
import { useAppState, useClient } from './hooks';
import { useNotifications, useTitle } from './notify';
import { usePush } from './push';
import { closeConversation, useRoute } from './router';
import { Sidebar } from './sidebar/Sidebar';
import { Toasts } from './Toasts';

const NARROW = '(max-width: 767px)';

function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW).matches);
  useEffect(() => {
    const query = window.matchMedia(NARROW);
    const onChange = () => setNarrow(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return narrow;
}

function Welcome() {
  return (
    <section class="welcome" aria-label="Welcome">
      <div class="welcome__logo" aria-hidden="true"><Icon name="chat" size={48} /></div>
      <h1>Parley</h1>
      <p>Pick a conversation on the left, or start a new one.</p>
    </section>
  );
}

export function Shell(props: { onSignOut(): void }) {
  const client = useClient();
  const route = useRoute();
  const openId = route.name === 'conversation' ? route.id : null;
  const narrow = useNarrow();
  const [panel, setPanel] = useState<Panel | null>(null);
  const lastOpen = useRef<number | null>(null);

  const live = useAppState((s) => s.phase === 'live');
  useNotifications(client);
  usePush(client, live);
  useTitle(client, openId);

  useEffect(() => setPanel(null), [openId]);

  // Escape closes the innermost thing: a dialog (the browser does that), a menu or the editing
  // of a message (they stop the key), the side panel, the chat.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('dialog[open]')) return;
      if (panel) setPanel(null);
      else if (openId !== null) closeConversation();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [panel, openId]);

  // Back in the list, focus returns to the conversation that was open.
  useEffect(() => {
    if (openId === null && lastOpen.current !== null) {
      document.querySelector<HTMLElement>(`[data-conversation-id="${lastOpen.current}"]`)?.focus();
    }
    lastOpen.current = openId;
  }, [openId]);

  return (
    <div class="app" data-view={openId !== null ? 'conversation' : 'list'}>
      <ConnectionBanner />
      <div class="app__body">
        <Sidebar currentId={openId} onSignOut={props.onSignOut} main={narrow && openId === null} />
        <main class="main">
          {openId !== null ? (
            <ConversationView key={openId} conversationId={openId} panel={panel} onPanel={setPanel} autoFocus={!narrow} />
          ) : (
            <Welcome />
          )}
        </main>
      </div>
      <Toasts />
    </div>
  );
}
