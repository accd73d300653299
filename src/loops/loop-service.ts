import { errorMessage } from "../core/errors.ts";
import { writeStderr } from "../stdio.ts";

/**
 * A background loop (scheduler, zombie killer, Lazarus, agent poller): `runOnce()` is the work and
 * is what tests call; `run(signal)` repeats it every `intervalMs` until the signal aborts, and
 * `wake()` starts the next pass at once (e.g. when a run becomes due). A failed pass is reported
 * and the loop goes on.
 */
export abstract class LoopService {
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    readonly name: string,
    protected readonly intervalMs: () => number,
    protected readonly onError: (message: string) => void = (m) => writeStderr(`${m}\n`),
  ) {}

  abstract runOnce(): Promise<unknown> | unknown;

  /** Start the next pass now instead of after the interval. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Wait before the next pass: `ms` (the interval), or less when `signal` aborts (a wake-up, the
   * stop). A loop that can learn of work sooner (an agent's long poll) overrides it.
   */
  protected waitForWork(ms: number, signal: AbortSignal): Promise<void> {
    return pause(ms, signal);
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.woken = false;
      try {
        await this.runOnce();
      } catch (e) {
        this.onError(`${this.name}: ${errorMessage(e)}`);
      }
      if (signal.aborted || this.woken) continue;
      // Ends on wake() and on stop.
      const waiting = new AbortController();
      const stopWaiting = () => waiting.abort();
      signal.addEventListener("abort", stopWaiting, { once: true });
      this.wakeUp = stopWaiting;
      try {
        await this.waitForWork(this.intervalMs(), waiting.signal);
      } catch (e) {
        if (!waiting.signal.aborted) this.onError(`${this.name}: ${errorMessage(e)}`);
      } finally {
        signal.removeEventListener("abort", stopWaiting);
        this.wakeUp = undefined;
      }
    }
  }
}

/** `ms`, or until `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done, { once: true });
  });
}
