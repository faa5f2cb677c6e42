// Settings → Notifications: the account's pause of push notifications (account.notifications),
// on every device of the user — unlike the switch above it, which is this browser's own
// subscription. Do not disturb (an hour, until tomorrow 8:00, until turned off; resume) and daily
// quiet hours in a time zone. Read when Settings opens; notification_settings frames keep it
// current while it is open (another device changed it).
import { useEffect, useId, useState } from 'preact/hooks';
import type { NotificationSettings, QuietSchedule } from '../../protocol/types';
import { type NotificationChange, updateNotificationSettings } from '../../state/account';
import { describeError, errorField } from '../../state/errors';
import { dndActive, minutesOf, pausedNow } from '../../state/notifyRules';
import { fullDate, timeOfDay } from '../format';
import { useAppState, useClient } from '../hooks';

const HOUR = 3_600_000;
/** How often the line saying whether notifications are paused is worked out again. */
const TICK_MS = 30_000;

/** The browser's own time zone: the default of new quiet hours. */
function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The zones this browser knows, for the time zone field's suggestions. */
function knownZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

/** 8:00 tomorrow, local time. */
function tomorrowAtEight(now: number): number {
  const date = new Date(now);
  date.setDate(date.getDate() + 1);
  date.setHours(8, 0, 0, 0);
  return date.getTime();
}

/** "today at 15:30", "tomorrow at 08:00", or the full date further ahead. */
function untilText(ts: number, now: number): string {
  const day = (t: number) => new Date(t).setHours(0, 0, 0, 0);
  const days = Math.round((day(ts) - day(now)) / (24 * HOUR));
  if (days === 0) return `today at ${timeOfDay(ts)}`;
  if (days === 1) return `tomorrow at ${timeOfDay(ts)}`;
  return fullDate(ts);
}

/** What the line under the heading says, and its data-state for the tests. */
function describePause(settings: NotificationSettings | null, now: number): { state: string; text: string } {
  if (!settings) return { state: 'loading', text: '' };
  if (dndActive(settings, now)) {
    return {
      state: 'paused',
      text: settings.dnd_until === -1 ? 'Paused until you resume them.' : `Paused until ${untilText(settings.dnd_until, now)}.`,
    };
  }
  if (settings.schedule && pausedNow(settings, now)) {
    return { state: 'quiet', text: `Quiet hours now, until ${settings.schedule.end}.` };
  }
  return { state: 'on', text: 'Not paused.' };
}

/** Re-renders every TICK_MS, so that a pause that ended says so. */
function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, []);
  return now;
}

type ScheduleField = 'start' | 'end' | 'timezone';

/** "'schedule.end' must differ from 'schedule.start'" → "The end must differ from the start." */
function scheduleSentence(message: string): string {
  const text = message.replace(/'schedule\.(start|end)'/g, (_, field: string) => `the ${field}`);
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** The quiet hours form: start and end times, the time zone; save, remove. */
function QuietHours(props: { schedule: QuietSchedule | null; busy: boolean; change(change: NotificationChange): Promise<unknown> }) {
  const id = useId();
  /** What the user typed; null follows the server's schedule (changed on another device too). */
  const [draft, setDraft] = useState<QuietSchedule | null>(null);
  const [errors, setErrors] = useState<Partial<Record<ScheduleField, string>>>({});
  const [saved, setSaved] = useState(false);
  const shown = draft ?? props.schedule ?? { timezone: browserZone(), start: '22:00', end: '07:00' };

  function edit(field: ScheduleField, value: string) {
    setDraft({ ...shown, [field]: value });
    setErrors((current) => ({ ...current, [field]: undefined }));
    setSaved(false);
  }

  async function save(event: Event) {
    event.preventDefault();
    const local: Partial<Record<ScheduleField, string>> = {};
    if (minutesOf(shown.start) === null) local.start = 'Enter a time such as 22:00.';
    if (minutesOf(shown.end) === null) local.end = 'Enter a time such as 07:00.';
    else if (shown.start === shown.end) local.end = 'The end must differ from the start.';
    if (!shown.timezone.trim()) local.timezone = 'Enter a time zone such as Europe/Berlin.';
    setErrors(local);
    if (Object.keys(local).length) return;
    try {
      await props.change({ schedule: { ...shown, timezone: shown.timezone.trim() } });
      setDraft(null);
      setSaved(true);
    } catch (err) {
      // The server names the field it refuses: schedule.timezone, schedule.start, schedule.end.
      const field = errorField(err)?.replace(/^schedule\./, '');
      if (field === 'timezone') setErrors({ timezone: 'Unknown time zone.' });
      else if (field === 'start' || field === 'end') setErrors({ [field]: scheduleSentence(describeError(err)) });
      else throw err;
    }
  }

  const input = (field: ScheduleField) => ({
    id: `${id}-${field}`,
    class: 'input',
    name: `quiet-${field}`,
    value: shown[field],
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': errors[field] ? `${id}-${field}-error` : undefined,
    onInput: (e: Event) => edit(field, (e.currentTarget as HTMLInputElement).value),
  });
  const error = (field: ScheduleField) =>
    errors[field] ? <p class="field__error" id={`${id}-${field}-error`} role="alert">{errors[field]}</p> : null;

  return (
    <form class="form quiet-hours" aria-label="Quiet hours" onSubmit={(e) => void save(e).catch(() => {})}>
      <div>
        <h4 class="quiet__title">Quiet hours</h4>
        <p class="toggle__hint" data-testid="quiet-schedule">
          {props.schedule
            ? `Every day from ${props.schedule.start} to ${props.schedule.end}, ${props.schedule.timezone} time.`
            : 'None: pause notifications every day at the same times.'}
        </p>
      </div>
      <div class="quiet-hours__fields">
        <div class="field">
          <label class="field__label" for={`${id}-start`}>From</label>
          <input type="time" required {...input('start')} />
          {error('start')}
        </div>
        <div class="field">
          <label class="field__label" for={`${id}-end`}>To</label>
          <input type="time" required {...input('end')} />
          {error('end')}
        </div>
        <div class="field quiet-hours__zone">
          <label class="field__label" for={`${id}-timezone`}>Time zone</label>
          <input type="text" list={`${id}-zones`} autocomplete="off" spellcheck={false} maxLength={64} {...input('timezone')} />
          <datalist id={`${id}-zones`}>
            {knownZones().map((zone) => <option key={zone} value={zone} />)}
          </datalist>
          {error('timezone')}
        </div>
      </div>
      <div class="profile-form__actions">
        <button type="submit" class="button" disabled={props.busy}>Save quiet hours</button>
        {props.schedule ? (
          <button
            type="button"
            class="button button--danger-ghost"
            disabled={props.busy}
            onClick={() =>
              void props.change({ schedule: null }).then(() => {
                setDraft(null);
                setErrors({});
                setSaved(false);
              }, () => {})
            }
          >
            Remove quiet hours
          </button>
        ) : null}
        {saved ? <span class="profile-form__saved" role="status">Saved</span> : null}
      </div>
    </form>
  );
}

export function QuietSetting() {
  const client = useClient();
  const settings = useAppState((s) => s.notifications);
  const live = useAppState((s) => s.phase === 'live');
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!live) return;
    updateNotificationSettings(client).then(() => setError(null), (err: unknown) => setError(describeError(err)));
  }, [client, live]);

  /** Sends a change; a refusal is shown here unless the caller handles it (rethrown). */
  async function change(patch: NotificationChange): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await updateNotificationSettings(client, patch);
    } catch (err) {
      if (!errorField(err)?.startsWith('schedule.')) setError(describeError(err));
      throw err;
    } finally {
      setBusy(false);
    }
  }
  const send = (patch: NotificationChange) => void change(patch).catch(() => {});

  const paused = dndActive(settings, now);
  const line = describePause(settings, now);
  const eight = tomorrowAtEight(now);
  return (
    <section class="settings quiet" aria-label="Do not disturb">
      <h3 class="panel__heading">Do not disturb</h3>
      <p class="toggle__hint">For your account: pauses notifications on all your devices.</p>
      <p class="push-state" role="status" data-testid="quiet-state" data-state={line.state}>{line.text}</p>
      <div class="mute-actions" role="group" aria-label="Pause notifications">
        {paused ? (
          <button type="button" class="button button--small" disabled={busy || !settings} onClick={() => send({ dnd_until: 0 })}>
            Resume notifications
          </button>
        ) : (
          <>
            <button type="button" class="button button--small" disabled={busy || !settings} onClick={() => send({ dnd_until: Date.now() + HOUR })}>
              Pause for 1 hour
            </button>
            <button type="button" class="button button--small" disabled={busy || !settings} onClick={() => send({ dnd_until: eight })}>
              Pause until tomorrow {timeOfDay(eight)}
            </button>
            <button type="button" class="button button--small" disabled={busy || !settings} onClick={() => send({ dnd_until: -1 })}>
              Pause until turned off
            </button>
          </>
        )}
      </div>
      {settings ? <QuietHours schedule={settings.schedule} busy={busy} change={change} /> : null}
      {error ? <p class="form-error" role="alert">{error}</p> : null}
    </section>
  );
}
