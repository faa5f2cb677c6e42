// Reconnect delays: exponential backoff with full jitter (protocol 11.2):
// delay = random(0, min(cap, base * 2^attempt)); the attempt count resets after a good hello.

export class Backoff {
  private attempt = 0;

  constructor(
    readonly baseMs = 500,
    readonly capMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms; each call counts one attempt. */
  next(): number {
    // 2^attempt overflows nothing here: the exponent stops growing once the cap is reached.
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
