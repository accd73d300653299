/**
 * Letting the event loop turn. Work that only ever awaits promises that are already settled
 * (synchronous tasks, the embedded database's writes, small files written at once) never lets
 * the loop turn on its own: until it ends, nothing else in the process runs, no timer (a
 * heartbeat, the cancel watch, a timed flush, the WAL checkpoints) and no signal handler.
 */

/** How long work may keep the event loop to itself before `turnIfDue` makes it wait. */
export const TURN_EVERY_MS = 20;

let lastTurn = performance.now();
let turnScheduled = false;
let releasing = false;
/** Callers waiting for the loop to turn, first come first. */
const parked: Array<() => void> = [];

/** A promise that settles on the event loop's next turn (after the timers and I/O that are due). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Call before a piece of synchronous work (a task's function). Undefined when the loop turned
 * less than TURN_EVERY_MS ago (and `now` is not set): go ahead. Else a promise that settles once the loop has turned
 * and it is this caller's go.
 *
 * The loop turns only once no microtask is left, so every caller waits while a turn is due, not
 * only the first: a mapped task runs thousands of task runs at once. After the turn they are let
 * go one at a time, each a microtask after the one before (whose synchronous work has run by
 * then), until TURN_EVERY_MS is used up again and the rest wait for the next turn: O(1) per
 * caller. Process-wide, as the event loop is: runs executed one after another share it.
 */
export function turnIfDue(now = false): Promise<void> | undefined {
  if (!now && !turnScheduled && !releasing && performance.now() - lastTurn < TURN_EVERY_MS) return undefined;
  return new Promise((resolve) => {
    parked.push(resolve);
    if (!turnScheduled && !releasing) scheduleTurn();
  });
}

function scheduleTurn(): void {
  turnScheduled = true;
  setImmediate(() => {
    turnScheduled = false;
    void release();
  });
}

async function release(): Promise<void> {
  releasing = true;
  lastTurn = performance.now();
  while (parked.length) {
    if (performance.now() - lastTurn >= TURN_EVERY_MS) {
      releasing = false;
      scheduleTurn();
      return;
    }
    parked.shift()!();
    // One microtask: the caller just let go runs its next step before the next one is let go.
    await undefined;
  }
  releasing = false;
}
