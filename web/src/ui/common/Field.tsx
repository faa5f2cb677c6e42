// A labelled text input with an optional hint and error below it. The label is a <label for>,
// so the input's accessible name is the label alone; the error and anything in `children` (a
// password strength hint) are tied to the input with aria-describedby.
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

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
      {props.type === 'password' ? <input type="password" {...input} /> : <input type="text" {...input} />}
      {props.error ? <p class="field__error" id={errorId} role="alert">{props.error}</p> : null}
      {props.children}
    </div>
  );
}
