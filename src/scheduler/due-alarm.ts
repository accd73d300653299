/**
 * Calls `onDue` when the next waiting run becomes due, so an in-process agent can be woken at
 * that instant instead of polling. It looks one run ahead: after firing (or being re-armed) it
 * asks for the earliest start strictly after the last time it fired, so a run nobody takes never
 * makes it spin. Long waits are cut into `maxDelayMs` steps (runs created by another process are
 * noticed at the next step or the next `arm()`). It does nothing between `stop()` and `start()`.
 */
export class DueRunAlarm {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watermark: Date;
  private stopped = true;
  /** Bumped by every arm() and stop(): an older arm's answer, arriving late, sets no timer. */
  private generation = 0;

  constructor(
    private readonly nextDueAt: (after: Date) => Promise<Date | undefined>,
    private readonly onDue: () => void,
    private readonly now: () => Date = () => new Date(),
    private readonly maxDelayMs = 60_000,
  ) {
    this.watermark = now();
  }

  /** The start time the alarm is waiting for, if any. */
  next(): Promise<Date | undefined> {
    return this.nextDueAt(this.watermark);
  }

  /** (Re)compute the next due time and set the timer for it; call after runs were created. */
  arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const generation = ++this.generation;
    if (this.stopped) return;
    this.next().then(
      (next) => {
        if (!next || this.stopped || generation !== this.generation) return;
        const delay = Math.min(Math.max(0, next.getTime() - this.now().getTime()), this.maxDelayMs);
        this.timer = setTimeout(() => this.fire(next), delay);
      },
      // The database unreachable for a moment: the next arm() (a pass, a change) tries again.
      () => {},
    );
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(expected: Date): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.now();
    if (expected.getTime() <= now.getTime()) {
      this.watermark = now;
      try {
        this.onDue();
      } finally {
        this.arm();
      }
      return;
    }
    this.arm();
  }
}
