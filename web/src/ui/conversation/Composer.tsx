// The message box: Enter sends, Shift+Enter starts a new line; it grows with its text. Drafts
// are kept per conversation while the page lives.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Icon } from '../common/icons';
import { byteLength } from '../format';
import { useClient } from '../hooks';

const drafts = new Map<number, string>();
const MAX_HEIGHT_PX = 160;

export function Composer(props: { conversationId: number; autoFocus: boolean }) {
  const client = useClient();
  const id = props.conversationId;
  const [text, setText] = useState(() => drafts.get(id) ?? '');
  const input = useRef<HTMLTextAreaElement>(null);
  const bytes = byteLength(text);
  const limit = client.maxTextBytes;
  const tooLong = bytes > limit;
  const empty = text.trim() === '';

  useEffect(() => {
    if (props.autoFocus) input.current?.focus();
  }, [id]);

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  function update(value: string) {
    setText(value);
    if (value) drafts.set(id, value);
    else drafts.delete(id);
  }

  function send() {
    const message = text.trim();
    if (!message || tooLong) return;
    client.sendMessage(id, message);
    update('');
    input.current?.focus();
  }

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        ref={input}
        class="composer__input"
        rows={1}
        value={text}
        placeholder="Type a message"
        aria-label="Message"
        aria-invalid={tooLong}
        aria-describedby={tooLong ? `limit-${id}` : undefined}
        onInput={(event) => update(event.currentTarget.value)}
        onKeyDown={(event) => {
          // Enter sends; Shift+Enter (and Enter while an input method is composing) do not.
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      {bytes > limit * 0.9 ? (
        <span id={`limit-${id}`} class={`composer__limit ${tooLong ? 'composer__limit--over' : ''}`}>
          {tooLong ? `Too long: ${bytes - limit} bytes over the limit` : `${limit - bytes} bytes left`}
        </span>
      ) : null}
      <button type="submit" class="composer__send" aria-label="Send" title="Send (Enter)" disabled={empty || tooLong}>
        <Icon name="send" />
      </button>
    </form>
  );
}
