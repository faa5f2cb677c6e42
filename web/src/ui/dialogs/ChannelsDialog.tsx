// "Channels": browse and search public channels (channel.list), read one before joining
// (Preview), join one, or create one.
import { useEffect, useState } from 'preact/hooks';
import type { Conversation } from '../../protocol/types';
import { createChannel, describeError, joinChannel, listChannels, previewChannel } from '../../state/commands';
import { Avatar } from '../common/Avatar';
import { Dialog } from '../common/Dialog';
import { useClient } from '../hooks';
import { conversationPath, navigate } from '../router';

function CreateChannelForm(props: { onCreated(conversation: Conversation): void; onCancel(): void }) {
  const client = useClient();
  const [title, setTitle] = useState('');
  const [topic, setTopic] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await createChannel(client, title, topic));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit}>
      <label class="field">
        <span class="field__label">Channel name</span>
        <input class="input" name="title" value={title} autofocus maxLength={256} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="field__label">Topic (optional)</span>
        <input class="input" name="topic" value={topic} maxLength={1024} onInput={(e) => setTopic(e.currentTarget.value)} />
      </label>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      <div class="dialog__actions">
        <button type="button" class="button button--ghost" onClick={props.onCancel}>Back</button>
        <button type="submit" class="button button--primary" disabled={busy || !title.trim()}>Create channel</button>
      </div>
    </form>
  );
}

export function ChannelsDialog(props: { onClose(): void }) {
  const client = useClient();
  const [query, setQuery] = useState('');
  const [channels, setChannels] = useState<Conversation[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  async function load(append: boolean) {
    setLoading(true);
    setError(null);
    try {
      const after = append && channels.length ? channels[channels.length - 1].id : 0;
      const page = await listChannels(client, query, after);
      setChannels(append ? [...channels, ...page.channels] : page.channels);
      setHasMore(page.has_more);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    const timer = setTimeout(() => void load(false), query ? 200 : 0);
    return () => clearTimeout(timer);
  }, [query]);

  function open(conversation: Conversation) {
    props.onClose();
    navigate(conversationPath(conversation.id));
  }

  /** Reads the channel before joining: its history is open to anyone (it stays out of the list). */
  function preview(channel: Conversation) {
    previewChannel(client, channel);
    open(channel);
  }

  async function join(channel: Conversation) {
    try {
      open(await joinChannel(client, channel.id));
    } catch (err) {
      setError(describeError(err));
    }
  }

  if (creating) {
    return (
      <Dialog title="New channel" onClose={props.onClose}>
        <CreateChannelForm onCreated={open} onCancel={() => setCreating(false)} />
      </Dialog>
    );
  }

  return (
    <Dialog title="Channels" onClose={props.onClose} wide>
      <div class="form">
        <label class="field">
          <span class="field__label">Search channels</span>
          <input class="input" type="search" value={query} autofocus placeholder="Channel name starts with…" onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        {error ? <p class="form-error" role="alert">{error}</p> : null}
        <ul class="channel-list" aria-label="Channels" aria-busy={loading}>
          {channels.map((channel) => {
            const member = channel.role !== undefined && channel.left_seq === undefined;
            return (
              <li class="channel-list__item" key={channel.id}>
                <Avatar name={channel.title} seed={channel.id} kind="channel" />
                <div class="channel-list__text">
                  <span class="channel-list__title">{channel.title}</span>
                  <span class="channel-list__meta">
                    {channel.member_count ?? 0} {channel.member_count === 1 ? 'member' : 'members'}
                    {channel.topic ? ` · ${channel.topic}` : ''}
                  </span>
                </div>
                {member ? (
                  <button type="button" class="button" onClick={() => open(channel)} aria-label={`Open ${channel.title}`}>Open</button>
                ) : (
                  <span class="channel-list__actions">
                    <button type="button" class="button" onClick={() => preview(channel)} aria-label={`Preview ${channel.title}`}>Preview</button>
                    <button type="button" class="button button--primary" onClick={() => void join(channel)} aria-label={`Join ${channel.title}`}>Join</button>
                  </span>
                )}
              </li>
            );
          })}
          {!loading && channels.length === 0 ? <li class="channel-list__empty">No channels {query ? 'match' : 'yet'}.</li> : null}
        </ul>
        {hasMore ? <button type="button" class="button button--ghost" disabled={loading} onClick={() => void load(true)}>Show more</button> : null}
        <div class="dialog__actions">
          <button type="button" class="button" onClick={() => setCreating(true)}>Create a channel</button>
        </div>
      </div>
    </Dialog>
  );
}
