// The root: the sign-in screen, or the signed-in app with its ChatClient.
import { useEffect, useState } from 'preact/hooks';
import { logout } from '../protocol/rest';
import * as cache from '../state/cache';
import { ChatClient } from '../state/client';
import type { Session } from '../state/model';
import { AuthScreen } from './AuthScreen';
import { ClientContext } from './hooks';
import { forgetPush } from './push';
import { navigate } from './router';
import { Shell } from './Shell';

function webSocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

function SignedIn(props: { session: Session; onSignedOut(notice: string | null): void }) {
  const { session } = props;
  const [client] = useState(() => new ChatClient(session, webSocketUrl()));

  // A file dropped anywhere but on a conversation (which takes it) must not replace the app.
  useEffect(() => {
    const refuse = (event: DragEvent) => {
      if (event.dataTransfer?.types.includes('Files') && !event.defaultPrevented) {
        event.preventDefault();
        if (event.type === 'dragover') event.dataTransfer.dropEffect = 'none';
      }
    };
    window.addEventListener('dragover', refuse);
    window.addEventListener('drop', refuse);
    return () => {
      window.removeEventListener('dragover', refuse);
      window.removeEventListener('drop', refuse);
    };
  }, []);

  useEffect(() => {
    client.start();
    const off = client.onSignedOut((reason) => {
      client.stop();
      if (reason === 'everywhere' || reason === 'this_device') {
        // The user signed this browser out from the device list: like the Sign out button.
        cache.clearSession(session.user.id);
        forgetPush(session.user.id);
        props.onSignedOut(reason === 'everywhere' ? 'You are signed out on every device.' : 'You are signed out.');
        return;
      }
      // The token is no longer accepted; the device cache stays for the next sign-in.
      cache.clearSession(null);
      props.onSignedOut(reason === 'token_expired' ? 'Your session has expired. Please sign in again.' : 'You were signed out. Please sign in again.');
    });
    return () => {
      off();
      client.stop();
    };
  }, [client]);

  async function signOut() {
    client.stop();
    await logout(session.token).catch(() => undefined);
    cache.clearSession(session.user.id);
    forgetPush(session.user.id);
    props.onSignedOut(null);
  }

  return (
    <ClientContext.Provider value={client}>
      <Shell onSignOut={() => void signOut()} />
    </ClientContext.Provider>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(cache.loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  if (!session) {
    return (
      <AuthScreen
        notice={notice}
        onSignedIn={(reply) => {
          const next: Session = { token: reply.token, expires_at: reply.expires_at, user: reply.user };
          cache.saveSession(next);
          setNotice(null);
          setSession(next);
        }}
      />
    );
  }
  return (
    <SignedIn
      key={session.user.id}
      session={session}
      onSignedOut={(message) => {
        navigate('/', { replace: true });
        setNotice(message);
        setSession(null);
      }}
    />
  );
}
