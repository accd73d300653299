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

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.woken = false;
      try {
        await this.runOnce();
      } catch (e) {
        this.onError(`${this.name}: ${errorMessage(e)}`);
      }
      if (signal.aborted || this.woken) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.wakeUp = undefined;
          resolve();
        };
        const timer = setTimeout(done, this.intervalMs());
        signal.addEventListener("abort", done, { once: true });
        this.wakeUp = done;
      });
    }
  }
}
