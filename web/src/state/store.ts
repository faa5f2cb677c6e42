// A minimal observable store: one immutable state value, replaced on every change. Listeners are
// told once per microtask however many changes happened (a sync page touches hundreds of events).

export class Store<S> {
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;

  constructor(private state: S) {}

  get(): S {
    return this.state;
  }

  /** Replaces the state with `update(state)`; a returned identical object changes nothing. */
  update(update: (state: S) => S): void {
    const next = update(this.state);
    if (next === this.state) return;
    this.state = next;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const listener of [...this.listeners]) listener();
    });
  }

  /** Calls `listener` after changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
