import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../../core/errors.ts";
import { databaseBusyError, isBusyError } from "./db.ts";

/**
 * The one write path of a SQLite database in this process: every write transaction — an HTTP
 * mutation, an in-process service call, a loop's pass — is a closure queued here. Closures that
 * arrive together (each request handled in its own turn of the event loop) share one
 * transaction, each inside its own savepoint, so that one that throws rolls back alone. In WAL
 * mode a commit appends every B-tree page the transaction touched; a flow run touches ~20 index
 * trees, so its commit costs more than its inserts, and sixteen runs in one commit write little
 * more than one.
 *
 * A closure is async (it awaits the store's repositories, whose statements run synchronously),
 * but it must settle within the turn of the event loop in which the group runs: awaiting real
 * I/O (a timer, a fetch, a file) would hold the write lock — and every other writer — across
 * turns. The group watches for that with a setImmediate scheduled when it starts: a closure still
 * pending when it fires is abandoned — marked so in that callback, before anything it awaited can
 * resume; its savepoint rolled back, its promise rejected Internal, and its later store calls
 * (from any nested transaction of it too) refused — and the group commits the others, the
 * closures it had not started yet going first into the next group.
 *
 * When another process holds the write lock, the group does not wait for it on the event loop's
 * thread beyond the connection's (short, in serve) busy timeout: it is tried again after a
 * growing pause, the event loop serving everyone meanwhile, and after `busyWaitMs` its writes
 * fail Unavailable ("the database is busy"), which clients retry.
 */
export interface WriteQueue {
  /**
   * Run `fn` in the next group's transaction, inside a savepoint; settles once that group commits.
   * `abandon` is called if `fn` does not settle within the group's turn of the event loop.
   */
  run<T>(fn: () => Promise<T>, abandon?: () => void): Promise<T>;
  /** Whether a group's transaction is open now (between its BEGIN and its COMMIT). */
  readonly busy: boolean;
  /** Resolves when no group is open (at once when none is). */
  idle(): Promise<void>;
  /** Commit what is queued now and refuse later writes (before the database is closed). */
  close(): Promise<void>;
}

export interface WriteQueueOptions {
  /** At most this many writes share a transaction (default MAX_GROUP). */
  maxGroup?: number;
  /**
   * How long a group keeps trying to take a busy write lock before its writes fail (default 10 s);
   * 0: fail on the first busy BEGIN (a command, whose connection already waits out its long busy timeout).
   */
  busyWaitMs?: number;
  /**
   * Wait for the rest of this turn of the event loop before a group starts, so that the writes of
   * requests handled in the same turn share its commit (default true: a server). false (a
   * command): a group starts as soon as this turn's synchronous code is done (a microtask), so a
   * write is stored before the next turn — a flow run's task that then computes synchronously for
   * minutes must not hold back the states reported before it.
   */
  groupAcrossTurn?: boolean;
}

interface Pending {
  fn: () => Promise<unknown>;
  abandon: (() => void) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A closure of the group while it runs: its outcome once it settles, or abandoned at the turn's end. */
interface Running {
  pending: Pending;
  outcome: Outcome | undefined;
  abandoned: boolean;
}

/** At most this many writes share a transaction, so one group never holds the lock for long. */
export const MAX_GROUP = 64;
export const DEFAULT_BUSY_WAIT_MS = 10_000;
/** The pauses between tries at a busy lock double from the first to the last. */
const FIRST_BUSY_PAUSE_MS = 2;
const LAST_BUSY_PAUSE_MS = 25;
const TURN_OVER = Symbol("turn over");

export function turnOverError(): PrefectliteError {
  return new PrefectliteError(
    "Internal",
    "a write transaction must settle within its turn of the event loop (it awaited something other than the store): its writes were rolled back",
  );
}

export function createWriteQueue(db: Database, options: WriteQueueOptions = {}): WriteQueue {
  const { maxGroup = MAX_GROUP, busyWaitMs = DEFAULT_BUSY_WAIT_MS, groupAcrossTurn = true } = options;
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const savepoint = db.prepare("SAVEPOINT group_write");
  const release = db.prepare("RELEASE group_write");
  const rollbackTo = db.prepare("ROLLBACK TO group_write");
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  /** The group running now, and who waits for it to end. */
  let open: { done: Promise<void>; end(): void } | undefined;
  /** Waiting out another process's write lock: when the wait began, the next pause, its timer. */
  let waiting: { since: number; pauseMs: number; timer: ReturnType<typeof setTimeout> } | undefined;

  const schedule = () => {
    if (scheduled || waiting || open) return;
    scheduled = true;
    // setImmediate, not a microtask: the requests that are ready in this turn of the event loop
    // are handed to their handlers first, and join the group.
    if (groupAcrossTurn) setImmediate(() => void flush());
    else queueMicrotask(() => void flush());
  };

  async function flush(final = false): Promise<void> {
    scheduled = false;
    if (!queue.length || open) return;
    const group = queue.length > maxGroup ? queue.splice(0, maxGroup) : queue;
    if (group === queue) queue = [];
    try {
      begin.run();
    } catch (error) {
      if (!isBusyError(error)) return fail(group, error);
      queue = [...group, ...queue];
      if (final || busyWaitMs <= 0 || waitedOut()) {
        // Everything queued has waited (up to) as long: all of it fails, and is retried by its clients.
        const all = queue;
        queue = [];
        waiting = undefined;
        return fail(all, databaseBusyError());
      }
      return retryLater();
    }
    waiting = undefined;
    let end!: () => void;
    open = { done: new Promise<void>((resolve) => (end = resolve)), end: () => end() };
    // The closure running now. The sentinel abandons it synchronously, in its own callback: the
    // race below resumes only after a microtask hop, and a timer the closure awaited may run first.
    let running: Running | undefined;
    let turnEnded = false;
    let endTurn!: (value: typeof TURN_OVER) => void;
    const turnOver = new Promise<typeof TURN_OVER>((resolve) => (endTurn = resolve));
    const sentinel = setImmediate(() => {
      turnEnded = true;
      if (running && !running.outcome) {
        running.abandoned = true;
        running.pending.abandon?.();
      }
      endTurn(TURN_OVER);
    });
    const outcomes: Outcome[] = [];
    let requeue: Pending[] = [];
    try {
      for (let i = 0; i < group.length; i++) {
        if (turnEnded) {
          // A closure started now would not be watched: the rest go first into the next group.
          requeue = group.splice(i);
          break;
        }
        const p = group[i]!;
        savepoint.run();
        const r: Running = (running = { pending: p, outcome: undefined, abandoned: false });
        const settled = settle(p.fn, r);
        await Promise.race([settled, turnOver]);
        running = undefined;
        if (r.abandoned) {
          // Its writes so far are undone; whatever it does later is refused by the store.
          rollbackTo.run();
          release.run();
          outcomes.push({ ok: false, error: turnOverError() });
          requeue = group.splice(i + 1);
          break;
        }
        const outcome = r.outcome!;
        if (outcome.ok) release.run();
        else {
          rollbackTo.run();
          release.run();
        }
        outcomes.push(outcome);
      }
      commit.run();
    } catch (error) {
      try {
        if (db.inTransaction) rollback.run();
      } catch {
        // The group fails with the first error either way; SQLite ends the transaction itself.
      }
      clearImmediate(sentinel);
      queue = [...requeue, ...queue];
      finishGroup();
      return fail(group, isBusyError(error) ? databaseBusyError() : error);
    }
    clearImmediate(sentinel);
    queue = [...requeue, ...queue];
    finishGroup();
    group.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }

  function finishGroup(): void {
    const o = open;
    open = undefined;
    o?.end();
    if (queue.length && !closed) schedule();
  }

  function fail(group: Pending[], error: unknown): void {
    for (const p of group) p.reject(error);
    if (!waiting && queue.length && !closed) schedule();
  }

  /** Whether this wait for the lock has lasted long enough: if so, it ends (the next group starts afresh). */
  function waitedOut(): boolean {
    return waiting !== undefined && Date.now() - waiting.since >= busyWaitMs;
  }

  function retryLater(): void {
    const pauseMs = waiting ? Math.min(waiting.pauseMs * 2, LAST_BUSY_PAUSE_MS) : FIRST_BUSY_PAUSE_MS;
    // Called straight from the timer (schedule() waits while `waiting` is set), with the wait kept.
    const timer = setTimeout(() => void flush(), pauseMs);
    waiting = { since: waiting?.since ?? Date.now(), pauseMs, timer };
  }

  return {
    run<T>(fn: () => Promise<T>, abandon?: () => void): Promise<T> {
      if (closed) return Promise.reject(new PrefectliteError("Unavailable", "the server is shutting down: the write was not made"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, abandon, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    get busy() {
      return open !== undefined;
    },
    idle: () => open?.done ?? Promise.resolve(),
    async close() {
      closed = true;
      if (waiting) clearTimeout(waiting.timer);
      waiting = undefined;
      // One last try each, on the connection's own busy timeout: a lock still held fails them Unavailable.
      while (open || queue.length) {
        if (open) await open.done;
        else await flush(true);
      }
    },
  };
}

/** Run the closure; its outcome is recorded on `r` when it settles (a synchronous throw included). */
function settle(fn: () => Promise<unknown>, r: Running): Promise<void> {
  try {
    return fn().then(
      (value) => void (r.outcome = { ok: true, value }),
      (error) => void (r.outcome = { ok: false, error }),
    );
  } catch (error) {
    r.outcome = { ok: false, error };
    return Promise.resolve();
  }
}
