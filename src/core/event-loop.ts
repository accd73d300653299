/**
 * Letting the event loop turn. Work that only ever awaits promises that are already settled
 * (synchronous tasks, the embedded database's writes, small files written at once) never lets
 * the loop turn on its own: until it ends, nothing else in the process runs, no timer (a
 * heartbeat, the cancel watch, a timed flush, the WAL checkpoints) and no signal handler.
 */

/** How long work may keep the event loop to itself before `turnIfDue` makes it wait. */
export const TURN_EVERY_MS = 20;

let lastTurn = performance.now();
let pending: Promise<void> | undefined;

/** A promise that settles on the event loop's next turn (after the timers and I/O that are due). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The loop's next turn, once TURN_EVERY_MS went by since it last turned for this; undefined
 * (nothing to wait for) before. The loop turns only when no microtask is left, so every caller
 * while a turn is pending gets it, not only the first (a mapped task runs thousands of task runs
 * at once). Process-wide, as the event loop is: runs executed one after another share it.
 */
export function turnIfDue(): Promise<void> | undefined {
  if (pending) return pending;
  if (performance.now() - lastTurn < TURN_EVERY_MS) return undefined;
  pending = nextTurn().then(() => {
    pending = undefined;
    lastTurn = performance.now();
  });
  return pending;
}
