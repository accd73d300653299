import { PrefectliteError, errorMessage, isPrefectliteError } from "../core/errors.ts";

const LONGEST_BACKOFF_MS = 2_000;

/**
 * A backed run's calls while the backend cannot be reached (a restarting server): each call that
 * fails Unavailable is retried with backoff for the retry window, counted from the first failure
 * of the outage; past it the window is lost for good and every call fails at once. Other errors
 * are the caller's to sort out. Writes carry their own ids, so a retry of a write whose answer
 * was lost is made once.
 */
export class OutageWindow {
  /** Since when calls find the backend unreachable (undefined: it answers). */
  private unreachableSince: number | undefined;
  private lostError: PrefectliteError | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly warn: (message: string) => void,
    /** Told once, when the window is lost. */
    private readonly onLost: (error: PrefectliteError) => void,
  ) {}

  /** Set once the backend stayed unreachable past the window. */
  get lost(): PrefectliteError | undefined {
    return this.lostError;
  }

  async call<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.lostError) throw this.lostError;
      try {
        const value = await call();
        if (this.unreachableSince !== undefined) {
          this.warn(`The backend answers again (after ${((Date.now() - this.unreachableSince) / 1000).toFixed(1)} s): the run goes on`);
          this.unreachableSince = undefined;
        }
        return value;
      } catch (e) {
        if (!isPrefectliteError(e) || e.code !== "Unavailable") throw e;
        const now = Date.now();
        if (this.unreachableSince === undefined) {
          this.unreachableSince = now;
          this.warn(`${errorMessage(e)}: the run's writes are kept and retried for up to ${Math.round(this.windowMs / 1000)} s; no task starts until its upstream is recorded`);
        }
        const left = this.unreachableSince + this.windowMs - now;
        if (left <= 0) throw this.lose(e);
        await Bun.sleep(Math.min(LONGEST_BACKOFF_MS, 50 * 2 ** attempt, left));
      }
    }
  }

  private lose(cause: PrefectliteError): PrefectliteError {
    if (this.lostError) return this.lostError;
    this.lostError = new PrefectliteError(
      "Unavailable",
      `the backend could not be reached for ${Math.round(this.windowMs / 1000)} s (${errorMessage(cause)}): the run stops here, its unrecorded work is left to the backend's safeguards`,
    );
    this.warn(this.lostError.message);
    this.onLost(this.lostError);
    return this.lostError;
  }
}
