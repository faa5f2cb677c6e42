// A labelled text input with an optional hint and error below it. The label is a <label for>,
// so the input's accessible name is the label alone; the error and anything in `children` (a
// password strength hint) are tied to the input with aria-describedby. A password field has an
// eye button that shows it as text while pressed.
import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';
import { Icon } from './icons';

export interface FieldProps {
  label: string;
  /** A quieter addition to the label, such as "(optional)". */
  hint?: string;
  name: string;
  value: string;
  onInput(value: string): void;
  type?: 'text' | 'password';
  autocomplete?: string;
  autofocus?: boolean;
  maxLength?: number;
  required?: boolean;
  error?: string | null;
  /** The id of an element that describes the input (for example a strength hint). */
  describedBy?: string;
  children?: ComponentChildren;
}

export function Field(props: FieldProps) {
  const id = useId();
  /** Passwords: shown as text while the eye is pressed (then a password manager still sees the field). */
  const [shown, setShown] = useState(false);
  const errorId = `${id}-error`;
  const describedBy = [props.error ? errorId : null, props.describedBy].filter(Boolean).join(' ') || undefined;
  // One set of attributes; Preact's types tell inputs apart by `type`, so each is written out.
  const input = {
    id,
    class: 'input',
    name: props.name,
    value: props.value,
    autofocus: props.autofocus,
    autocomplete: props.autocomplete,
    autocapitalize: props.type === 'password' || props.name === 'username' ? ('none' as const) : undefined,
    spellcheck: props.name === 'username' || props.name === 'invite' ? false : undefined,
    maxLength: props.maxLength,
    required: props.required,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label class="field__label" for={id}>
        {props.label}
        {props.hint ? <span class="field__hint"> {props.hint}</span> : null}
      </label>
      {props.type === 'password' ? (
        <div class="field__password">
          {shown ? <input type="text" {...input} /> : <input type="password" {...input} />}
          <button
            type="button"
            class="icon-button field__reveal"
            aria-pressed={shown}
            aria-controls={id}
            title={shown ? 'Hide password' : 'Show password'}
            onClick={() => setShown(!shown)}
          >
            <Icon name={shown ? 'eyeOff' : 'eye'} size={20} />
            <span class="sr-only">Show password</span>
          </button>
        </div>
      ) : <input type="text" {...input} />}
      {props.error ? <p class="field__error" id={errorId} role="alert">{props.error}</p> : null}
      {props.children}
    </div>
  );
}
