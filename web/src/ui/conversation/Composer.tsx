// The message box: Enter sends, Shift+Enter starts a new line; it grows with its text. Drafts
// are kept per conversation (and thread) in the client's state, and so across reloads. It says "typing" to the others
// while the user composes, shows the message being replied to above the box, and completes
// @mentions from the members of a group or channel (arrow keys, Enter or Tab, Escape).
// Files come from the paperclip's file picker, from pasting (images on the clipboard) or from a
// drop on the conversation (ConversationView); they wait above the box until sent with the
// text as their caption, as one message.
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Member } from '../../protocol/types';
import type { PendingFile } from '../../state/model';
import { listMembers } from '../../state/commands';
import { attachmentPreview } from '../../state/selectors';
import { Avatar, hueOf } from '../common/Avatar';
import { Icon } from '../common/icons';
import { byteLength } from '../format';
import { useAppState, useClient } from '../hooks';
import { EmojiPanel } from '../emoji/EmojiPanel';
import { ComposerFiles } from './ComposerFiles';
import type { MessageLine } from './items';

const NO_FILES: PendingFile[] = [];

const MAX_HEIGHT_PX = 160;
const MAX_SUGGESTIONS = 8;

interface Suggestion {
  key: string;
  username: string;
  label: string;
  seed: number;
}

/** The "@name" being typed just before the caret, if any. */
function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|[^\w@])@([\w.-]*)$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2].length - 1, query: match[2].toLowerCase() };
}

export function Composer(props: {
  conversationId: number;
  autoFocus: boolean;
  /** Replies go into this thread (thread_root_seq). */
  threadRoot?: number;
  replyTo: MessageLine | null;
  onCancelReply(): void;
  /** ArrowUp in an empty box: edit the user's last message. */
  onEditLast?(): void;
  label?: string;
}) {
  const client = useClient();
  const id = props.conversationId;
  const draftKey = props.threadRoot ? `${id}:${props.threadRoot}` : String(id);
  const meta = useAppState((s) => s.conversations[id]?.meta);
  const names = useAppState((s) => s.users);
  const [text, setText] = useState(() => client.store.get().drafts[draftKey] ?? '');
  const input = useRef<HTMLTextAreaElement>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const [selected, setSelected] = useState(0);
  const listId = useId();
  const emojiButton = useRef<HTMLButtonElement>(null);
  const [pickingEmoji, setPickingEmoji] = useState(false);
  const files = useAppState((s) => s.composerFiles[draftKey] ?? NO_FILES);
  const filePicker = useRef<HTMLInputElement>(null);
  const bytes = byteLength(text);
  const limit = client.maxTextBytes;
  const tooLong = bytes > limit;
  const empty = text.trim() === '' && files.length === 0;
  const canMention = meta !== undefined && meta.kind !== 'direct';

  useEffect(() => {
    if (props.autoFocus) input.current?.focus();
  }, [id, props.threadRoot]);

  // Choosing "reply" puts the focus here, where the answer is written.
  useEffect(() => {
    if (props.replyTo) input.current?.focus();
  }, [props.replyTo?.key]);

  useEffect(() => () => client.typing(id, false), [id]);

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  // Members for @-completion: read once, when the first "@" is typed.
  useEffect(() => {
    if (!mention || members || !canMention) return;
    listMembers(client, id).then(setMembers, () => setMembers([]));
  }, [mention !== null]);

  const suggestions: Suggestion[] = [];
  if (mention && canMention) {
    const q = mention.query;
    if ((meta.role === 'admin' || meta.role === 'owner') && 'all'.startsWith(q)) {
      suggestions.push({ key: 'all', username: 'all', label: 'Everyone in this conversation', seed: id });
    }
    for (const member of members ?? []) {
      if (suggestions.length >= MAX_SUGGESTIONS) break;
      if (member.user_id === client.me.id) continue;
      const display = member.display_name || member.username;
      if (member.username.toLowerCase().startsWith(q) || display.toLowerCase().split(/\s+/).some((word) => word.startsWith(q))) {
        suggestions.push({ key: String(member.user_id), username: member.username, label: display, seed: member.user_id });
      }
    }
  }
  const showSuggestions = suggestions.length > 0;
  const active = Math.min(selected, suggestions.length - 1);

  function update(value: string, caret = value.length) {
    setText(value);
    client.setDraft(draftKey, value);
    client.typing(id, value.trim() !== '');
    const next = mentionAt(value, caret);
    setMention(next);
    if (next?.query !== mention?.query) setSelected(0);
  }

  function complete(suggestion: Suggestion) {
    if (!mention) return;
    const el = input.current;
    const caret = el?.selectionStart ?? text.length;
    const before = text.slice(0, mention.start);
    const after = text.slice(caret);
    const inserted = `@${suggestion.username} `;
    const value = before + inserted + after.replace(/^\s+/, '');
    update(value, before.length + inserted.length);
    setMention(null);
    // After the render that puts `value` in; not if the user typed on meanwhile (a fast typist's
    // next letters would land before the caret is moved back behind them).
    requestAnimationFrame(() => {
      if (!el || el.value !== value) return;
      el.focus();
      el.setSelectionRange(before.length + inserted.length, before.length + inserted.length);
    });
  }

  /** Puts an emoji where the caret was (replacing a selection), as if typed. */
  function insertEmoji(emoji: string) {
    const el = input.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? start;
    const value = text.slice(0, start) + emoji + text.slice(end);
    const caret = start + emoji.length;
    update(value, caret);
    requestAnimationFrame(() => {
      if (el && el.value === value) el.setSelectionRange(caret, caret);
    });
  }

  function send() {
    const message = text.trim();
    if ((!message && files.length === 0) || tooLong) return;
    const upload = client.takeComposerFiles(draftKey);
    client.sendMessage(id, message, { replyTo: props.replyTo?.seq, threadRoot: props.threadRoot }, { upload });
    update('');
    setMention(null);
    if (props.replyTo) props.onCancelReply();
    input.current?.focus();
  }

  const replyAuthor = props.replyTo ? (props.replyTo.senderId === client.me.id ? 'You' : (names[props.replyTo.senderId]?.display_name || names[props.replyTo.senderId]?.username || 'Someone')) : '';

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {props.replyTo ? (
        <div class="composer__reply" style={{ '--avatar-hue': String(hueOf(props.replyTo.senderId)) }} data-testid="reply-preview">
          <Icon name="reply" size={18} />
          <span class="composer__reply-text">
            <span class="quote__author">Replying to {replyAuthor}</span>
            <span class="quote__text">{attachmentPreview(props.replyTo.text, props.replyTo.attachments)}</span>
          </span>
          <button type="button" class="icon-button icon-button--small" aria-label="Cancel reply" title="Cancel reply (Escape)" onClick={() => { props.onCancelReply(); input.current?.focus(); }}>
            <Icon name="close" size={18} />
          </button>
        </div>
      ) : null}
      <ComposerFiles draftKey={draftKey} files={files} />
      {showSuggestions ? (
        <ul class="mentions-list" id={listId} role="listbox" aria-label="Mention someone">
          {suggestions.map((suggestion, index) => (
            <li
              key={suggestion.key}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              class={`mentions-list__item ${index === active ? 'mentions-list__item--active' : ''}`}
              onMouseDown={(event) => {
                event.preventDefault(); // keep the focus in the box
                complete(suggestion);
              }}
            >
              <Avatar name={suggestion.label} seed={suggestion.seed} size="sm" kind={suggestion.key === 'all' ? 'group' : undefined} />
              <span class="mentions-list__name">{suggestion.label}</span>
              <span class="mentions-list__username">@{suggestion.username}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <button
        type="button"
        class="icon-button composer__attach"
        aria-label="Attach files"
        title="Attach files"
        onClick={() => filePicker.current?.click()}
      >
        <Icon name="attach" />
      </button>
      <input
        ref={filePicker}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(event) => {
          const picked = [...(event.currentTarget.files ?? [])];
          event.currentTarget.value = ''; // the same file can be picked again
          void client.attachFiles(draftKey, picked);
          input.current?.focus();
        }}
      />
      <button
        ref={emojiButton}
        type="button"
        class="icon-button composer__emoji"
        aria-label="Emoji"
        title="Emoji"
        aria-haspopup="dialog"
        aria-expanded={pickingEmoji}
        onClick={() => setPickingEmoji(!pickingEmoji)}
      >
        <Icon name="emoji" />
      </button>
      {pickingEmoji && emojiButton.current ? (
        <EmojiPanel
          anchor={emojiButton.current}
          label="Emoji"
          stayOpen
          onPick={insertEmoji}
          onClose={() => {
            setPickingEmoji(false);
            requestAnimationFrame(() => input.current?.focus());
          }}
        />
      ) : null}
      <textarea
        ref={input}
        class="composer__input"
        rows={1}
        value={text}
        placeholder={props.threadRoot ? 'Reply in thread' : 'Type a message'}
        aria-label={props.label ?? 'Message'}
        aria-invalid={tooLong}
        aria-describedby={tooLong ? `limit-${draftKey}` : undefined}
        aria-autocomplete={canMention ? 'list' : undefined}
        aria-controls={showSuggestions ? listId : undefined}
        aria-activedescendant={showSuggestions ? `${listId}-${active}` : undefined}
        onInput={(event) => update(event.currentTarget.value, event.currentTarget.selectionStart ?? undefined)}
        onBlur={() => {
          client.typing(id, false);
          setMention(null);
        }}
        onPaste={(event) => {
          // Pictures on the clipboard (a screenshot, "Copy image") become files of the message;
          // text pasted with them (a copied web page) is still pasted as text.
          const pasted = [...(event.clipboardData?.files ?? [])];
          if (pasted.length === 0) return;
          if (!event.clipboardData?.types.includes('text/plain')) event.preventDefault();
          void client.attachFiles(draftKey, pasted);
        }}
        onKeyDown={(event) => {
          if (showSuggestions) {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
              event.preventDefault();
              const step = event.key === 'ArrowDown' ? 1 : -1;
              setSelected((active + step + suggestions.length) % suggestions.length);
              return;
            }
            if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
              event.preventDefault();
              complete(suggestions[active]);
              return;
            }
            if (event.key === 'Escape') {
              event.preventDefault();
              event.stopPropagation();
              setMention(null);
              return;
            }
          }
          if (event.key === 'Escape' && props.replyTo) {
            event.preventDefault();
            event.stopPropagation();
            props.onCancelReply();
            return;
          }
          if (event.key === 'ArrowUp' && text === '' && props.onEditLast) {
            event.preventDefault();
            props.onEditLast();
            return;
          }
          // Enter sends; Shift+Enter (and Enter while an input method is composing) do not.
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      {bytes > limit * 0.9 ? (
        <span id={`limit-${draftKey}`} class={`composer__limit ${tooLong ? 'composer__limit--over' : ''}`}>
          {tooLong ? `Too long: ${bytes - limit} bytes over the limit` : `${limit - bytes} bytes left`}
        </span>
      ) : null}
      <button type="submit" class="composer__send" aria-label="Send" title="Send (Enter)" disabled={empty || tooLong}>
        <Icon name="send" />
      </button>
    </form>
  );
}
