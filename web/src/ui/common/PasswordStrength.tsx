// The strength hint under a new-password field: while the user types, the server's own judgement
// (POST /v1/auth/password_check, debounced) as a meter and a sentence. Advisory only: the server
// decides again when the account is created or the password changed. The password is sent in a
// request body and never logged.
import { useEffect, useState } from 'preact/hooks';
import { passwordCheck } from '../../protocol/rest';
import type { PasswordCheck } from '../../protocol/types';
import { sentence } from '../../state/errors';

const DEBOUNCE_MS = 300;

export interface Strength {
  /** The server's answer for the current inputs; null while none is known. */
  check: PasswordCheck | null;
  /** The inputs changed since the answer shown (or no answer yet): a check is coming. */
  pending: boolean;
}

/**
 * Asks the server about `password` 300 ms after the last change of it or of the names (they
 * count as words an attacker would try). Answers to older inputs are dropped.
 */
export function usePasswordStrength(password: string, username = '', displayName = ''): Strength {
  const key = JSON.stringify([password, username.trim(), displayName.trim()]);
  const [answer, setAnswer] = useState<{ key: string; check: PasswordCheck | null } | null>(null);
  useEffect(() => {
    if (!password) return;
    let current = true;
    const timer = setTimeout(() => {
      passwordCheck(password, username.trim(), displayName.trim())
        .then((check) => current && setAnswer({ key, check }))
        // Unavailable or throttled (429): no hint; the server still judges at sign-up.
        .catch(() => current && setAnswer({ key, check: null }));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key]);
  if (!password) return { check: null, pending: false };
  return { check: answer?.check ?? null, pending: answer?.key !== key };
}

export function PasswordStrength(props: { id: string; strength: Strength; password: string }) {
  const { check, pending } = props.strength;
  if (!props.password || (!check && !pending)) return null;
  const state = !check ? 'checking' : pending ? 'checking' : check.acceptable ? 'acceptable' : 'weak';
  let text = 'Checking the password…';
  if (check) {
    const min = check.min_password_entropy_bits;
    if (!check.acceptable) text = `Not accepted. ${sentence(check.problem ?? 'too easy to guess')}`;
    else if (min > 0 && check.entropy_bits >= 2 * min) text = 'Strong password.';
    else text = 'Acceptable password. A few more unrelated words would make it stronger.';
  }
  return (
    <div class="strength" id={props.id} data-testid="password-strength" data-state={state} aria-busy={pending}>
      {check ? <StrengthMeter check={check} /> : null}
      <p class="strength__text" role="status">{text}</p>
    </div>
  );
}

/**
 * A native <meter> (no inline styles needed): red below the server's minimum, yellow up to
 * 1.5 times it, green from there; full at twice the minimum.
 */
function StrengthMeter(props: { check: PasswordCheck }) {
  const { check } = props;
  const min = Math.max(1, check.min_password_entropy_bits);
  // A refused password stays in the red even if it scores bits (too short, say).
  const value = check.acceptable ? Math.max(check.entropy_bits, min) : Math.min(check.entropy_bits, min * 0.99);
  return (
    <meter
      class="strength__meter"
      aria-label="Strength"
      min={0}
      max={2 * min}
      low={min}
      high={1.5 * min}
      optimum={2 * min}
      value={Math.min(value, 2 * min)}
      title={`About ${check.entropy_bits} bits; at least ${check.min_password_entropy_bits} needed`}
    />
  );
}
