// A modal dialog on the native <dialog>: the browser traps focus, closes it on Escape and
// returns focus to where it was.
import type { ComponentChildren } from 'preact';
import { useId, useLayoutEffect, useRef } from 'preact/hooks';
import { Icon } from './icons';

export function Dialog(props: { title: string; onClose(): void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    // No close() on unmount: removing the element ends the modal state by itself.
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog ${props.wide ? 'dialog--wide' : ''}`}
      aria-labelledby={titleId}
      onClose={props.onClose}
      onClick={(event) => {
        // A click on the backdrop (the dialog element itself, outside the panel) closes it.
        if (event.target === ref.current) props.onClose();
      }}
    >
      <div class="dialog__panel">
        <div class="dialog__header">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" class="icon-button" aria-label="Close" title="Close" onClick={props.onClose}>
            <Icon name="close" />
          </button>
        </div>
        {props.children}
      </div>
    </dialog>
  );
}

export function ConfirmDialog(props: {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  /** A second way to go on, beside Cancel (e.g. "Delete for me" next to "Delete for everyone"). */
  alternative?: { label: string; onSelect(): void };
  onConfirm(): void;
  onClose(): void;
}) {
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p class="dialog__text">{props.message}</p>
      <div class="dialog__actions">
        <button type="button" class="button button--ghost" onClick={props.onClose}>Cancel</button>
        {props.alternative ? (
          <button
            type="button"
            class="button button--ghost"
            onClick={() => {
              props.alternative!.onSelect();
              props.onClose();
            }}
          >
            {props.alternative.label}
          </button>
        ) : null}
        <button
          type="button"
          class={`button ${props.danger ? 'button--danger' : 'button--primary'}`}
          autofocus
          onClick={() => {
            props.onConfirm();
            props.onClose();
          }}
        >
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
