// The info panel of a conversation: title (rename), the user's notifications of it (mute, and
// which messages notify), members with roles (add, remove, make admin), leave. What is offered
// follows the caller's role (protocol 4, members.*).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Member, NotifyLevel, User } from '../../protocol/types';
import {
  addMembers, canManage, describeError, leaveConversation, listMembers, permissions,
  removeMember, renameConversation, setRole, updateConversationSettings,
} from '../../state/commands';
import { defaultLevel, NOTIFY_LEVELS } from '../../state/notifyRules';
import { conversationTitle, isActiveMember, isMuted } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { ConfirmDialog } from '../common/Dialog';
import { Icon } from '../common/icons';
import { UserPicker } from '../common/UserPicker';
import { fullDate } from '../format';
import { useAppState, useClient } from '../hooks';
import { navigate } from '../router';

const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member' } as const;

function RenameForm(props: { meta: Conversation; onDone(): void }) {
  const client = useClient();
  const [title, setTitle] = useState(props.meta.title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="form form--inline"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        try {
          await renameConversation(client, props.meta.id, title);
          props.onDone();
        } catch (err) {
          setError(describeError(err));
          setBusy(false);
        }
      }}
    >
      <label class="field">
        <span class="field__label">{props.meta.kind === 'channel' ? 'Channel name' : 'Group name'}</span>
        <input
          class="input"
          value={title}
          autofocus
          maxLength={256}
          onInput={(e) => setTitle(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              props.onDone();
            }
          }}
        />
      </label>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      <div class="dialog__actions">
        <button type="button" class="button button--ghost" onClick={props.onDone}>Cancel</button>
        <button type="submit" class="button button--primary" disabled={busy || !title.trim()}>Save</button>
      </div>
    </form>
  );
}

function MemberRow(props: { member: Member; meta: Conversation; onChanged(): void }) {
  const client = useClient();
  const { member, meta } = props;
  const me = client.me.id;
  const allowed = permissions(meta.role, isActiveMember(meta), member, me);
  const name = member.display_name || member.username;
  const [confirm, setConfirm] = useState(false);

  async function run(action: () => Promise<void>) {
    try {
      await action();
      props.onChanged();
    } catch (err) {
      client.toast(describeError(err));
    }
  }

  return (
    <li class="member" data-user-id={member.user_id}>
      <Avatar name={name} seed={member.user_id} size="sm" />
      <span class="member__text">
        <span class="member__name">{member.user_id === me ? `${name} (you)` : name}</span>
        <span class="member__username">@{member.username}</span>
      </span>
      {member.role !== 'member' ? <span class={`role role--${member.role}`}>{ROLE_LABEL[member.role]}</span> : null}
      <span class="member__actions">
        {allowed.changeRole ? (
          <button
            type="button"
            class="button button--small"
            aria-label={member.role === 'admin' ? `Dismiss admin: ${name}` : `Make admin: ${name}`}
            onClick={() => void run(() => setRole(client, meta.id, member.user_id, member.role === 'admin' ? 'member' : 'admin'))}
          >
            {member.role === 'admin' ? 'Dismiss admin' : 'Make admin'}
          </button>
        ) : null}
        {allowed.remove ? (
          <button type="button" class="button button--small button--danger-ghost" aria-label={`Remove: ${name}`} onClick={() => setConfirm(true)}>
            Remove
          </button>
        ) : null}
      </span>
      {confirm ? (
        <ConfirmDialog
          title={`Remove ${name}?`}
          message={`${name} will no longer see new messages of “${meta.title}”.`}
          confirmLabel="Remove"
          danger
          onConfirm={() => void run(() => removeMember(client, meta.id, member.user_id))}
          onClose={() => setConfirm(false)}
        />
      ) : null}
    </li>
  );
}

function Members(props: { meta: Conversation }) {
  const client = useClient();
  const { meta } = props;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const active = isActiveMember(meta);
  const phase = useAppState((s) => s.phase);

  async function load() {
    if (!active) return;
    try {
      setMembers(await listMembers(client, meta.id));
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  }

  // Reload when membership events arrive (they move last_seq) or after a reconnect.
  useEffect(() => {
    if (phase === 'live') void load();
  }, [meta.id, meta.last_seq, meta.role, phase === 'live']);

  if (!active) return <p class="panel__note">You are no longer a member of this {meta.kind}.</p>;

  return (
    <section class="panel__section" aria-label="Members">
      <h3 class="panel__heading">{meta.member_count ?? members?.length ?? 0} members</h3>
      {canManage(meta.role, active) ? (
        <div class="panel__add">
          <UserPicker users={adding} onChange={setAdding} exclude={members?.map((m) => m.user_id)} label="Add members by username" />
          {adding.length ? (
            <button
              type="button"
              class="button button--primary"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await addMembers(client, meta.id, adding);
                  setAdding([]);
                  await load();
                } catch (err) {
                  client.toast(describeError(err));
                } finally {
                  setBusy(false);
                }
              }}
            >
              Add {adding.length === 1 ? (adding[0].display_name || adding[0].username) : `${adding.length} people`}
            </button>
          ) : null}
        </div>
      ) : null}
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      <ul class="member-list">
        {(members ?? []).map((member) => (
          <MemberRow key={member.user_id} member={member} meta={meta} onChanged={() => void load()} />
        ))}
      </ul>
    </section>
  );
}

const HOUR = 3_600_000;

const LEVEL_LABEL = { all: 'All messages', mentions: 'Mentions only', none: 'Nothing' } as const;

/** "Default (Mentions only)" for a channel, "Default (All messages)" for the others. */
function levelLabel(level: NotifyLevel, meta: Conversation): string {
  return level === 'default' ? `Default (${LEVEL_LABEL[defaultLevel(meta.kind)]})` : LEVEL_LABEL[level];
}

/**
 * Which messages of the conversation notify the user (conversation.settings `notify`), on all
 * its devices. The choice shows at once; the server's reply (or another device's
 * conversation_settings frame) then decides. Radio buttons: arrow keys move between them.
 */
function NotifyLevelChoice(props: { meta: Conversation; muted: boolean }) {
  const client = useClient();
  const { meta } = props;
  /** The level last picked here, until the server answered the last request. */
  const [picked, setPicked] = useState<NotifyLevel | null>(null);
  const latest = useRef(0);
  const current = picked ?? meta.notify ?? 'default';

  async function pick(level: NotifyLevel) {
    const request = ++latest.current;
    setPicked(level);
    try {
      await updateConversationSettings(client, meta.id, { notify: level });
    } catch (err) {
      client.toast(describeError(err));
    } finally {
      // An earlier answer must not show its level while a later pick is on its way.
      if (request === latest.current) setPicked(null);
    }
  }

  return (
    <fieldset class="choice choice--stack notify-level" data-testid="notify-level" data-value={current}>
      <legend class="choice__legend">Notify me about</legend>
      {NOTIFY_LEVELS.map((level) => (
        <label key={level} class="choice__item">
          <input
            type="radio"
            name={`notify-${meta.id}`}
            value={level}
            checked={current === level}
            onChange={() => void pick(level)}
          />
          {levelLabel(level, meta)}
        </label>
      ))}
      <p class="choice__note">
        {props.muted
          ? 'Muted: nothing notifies you until you unmute it.'
          : current === 'none'
            ? 'No notifications from this chat; it still counts as unread.'
            : 'Applies on all your devices.'}
      </p>
    </fieldset>
  );
}

/** This user's notifications of the conversation (conversation.settings muted_until and notify); mute as in the list's row menu. */
function MuteSection(props: { meta: Conversation }) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const muted = isMuted(props.meta);
  const until = props.meta.muted_until ?? 0;

  async function mute(value: number) {
    setBusy(true);
    try {
      await updateConversationSettings(client, props.meta.id, { muted_until: value });
    } catch (err) {
      client.toast(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="panel__section" aria-label="Chat notifications">
      <h3 class="panel__heading">Notifications</h3>
      <p class="panel__sub" data-testid="mute-state">
        {!muted ? 'On' : until === -1 ? 'Muted' : `Muted until ${fullDate(until)}`}
      </p>
      <div class="mute-actions">
        {muted ? (
          <button type="button" class="button button--small" disabled={busy} onClick={() => void mute(0)}>Unmute</button>
        ) : (
          <>
            <button type="button" class="button button--small" disabled={busy} onClick={() => void mute(Date.now() + 8 * HOUR)}>Mute for 8 hours</button>
            <button type="button" class="button button--small" disabled={busy} onClick={() => void mute(Date.now() + 7 * 24 * HOUR)}>Mute for 1 week</button>
            <button type="button" class="button button--small" disabled={busy} onClick={() => void mute(-1)}>Mute always</button>
          </>
        )}
      </div>
      <NotifyLevelChoice meta={props.meta} muted={muted} />
    </section>
  );
}

export function DetailsPanel(props: { conversationId: number; onClose(): void }) {
  const client = useClient();
  const meta = useAppState((s) => s.conversations[props.conversationId]?.meta);
  const title = useAppState((s) => (meta ? conversationTitle(s, meta) : ''));
  const [renaming, setRenaming] = useState(false);
  const [leaving, setLeaving] = useState(false);
  if (!meta) return null;
  const active = isActiveMember(meta);
  const kindLabel = meta.kind === 'channel' ? 'channel' : 'group';

  return (
    <aside class="panel" aria-label="Conversation details">
      <header class="panel__header">
        <h2>{meta.kind === 'direct' ? 'Contact info' : `${meta.kind === 'channel' ? 'Channel' : 'Group'} info`}</h2>
        <button type="button" class="icon-button" aria-label="Close details" title="Close" onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </header>
      <div class="panel__body">
        <div class="panel__hero">
          <Avatar name={title} seed={meta.kind === 'direct' && meta.peer ? meta.peer.id : meta.id} size="xl" kind={meta.kind} />
          {renaming ? (
            <RenameForm meta={meta} onDone={() => setRenaming(false)} />
          ) : (
            <div class="panel__title">
              <h3>{title}</h3>
              {meta.kind !== 'direct' && canManage(meta.role, active) ? (
                <button type="button" class="icon-button icon-button--small" aria-label={`Rename ${kindLabel}`} title="Rename" onClick={() => setRenaming(true)}>
                  <Icon name="edit" size={18} />
                </button>
              ) : null}
            </div>
          )}
          {meta.kind === 'direct' && meta.peer ? <p class="panel__sub">@{meta.peer.username}</p> : null}
          {meta.topic ? <p class="panel__sub">{meta.topic}</p> : null}
          <p class="panel__sub panel__sub--muted">Created {fullDate(meta.created_at)}</p>
        </div>
        {isActiveMember(meta) ? <MuteSection meta={meta} /> : null}
        {meta.kind !== 'direct' ? <Members meta={meta} /> : null}
        {meta.kind !== 'direct' ? (
          <section class="panel__section">
            {active ? (
              <button type="button" class="button button--danger-ghost button--block" onClick={() => setLeaving(true)}>
                Leave {kindLabel}
              </button>
            ) : (
              <button
                type="button"
                class="button button--block"
                onClick={() => {
                  client.setHidden(meta.id, true);
                  navigate('/');
                }}
              >
                Remove from my list
              </button>
            )}
          </section>
        ) : null}
      </div>
      {leaving ? (
        <ConfirmDialog
          title={`Leave “${title}”?`}
          message={meta.kind === 'channel' ? 'You can join the channel again later.' : 'Only an admin can add you back.'}
          confirmLabel="Leave"
          danger
          onConfirm={async () => {
            try {
              await leaveConversation(client, meta.id);
              navigate('/');
            } catch (err) {
              client.toast(describeError(err));
            }
          }}
          onClose={() => setLeaving(false)}
        />
      ) : null}
    </aside>
  );
}
