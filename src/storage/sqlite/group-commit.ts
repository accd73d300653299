import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../../core/errors.ts";
import { databaseBusyError, isBusyError } from "./db.ts";

/**
 * Group commit: writes that arrive together — concurrent HTTP mutations, each handled in its
 * own turn of the event loop — share one transaction, each inside its own savepoint so that a
 * write that throws rolls back alone. In WAL mode a commit appends every B-tree page the
 * transaction touched; a flow run touches ~20 index trees, so its commit costs more than its
 * inserts, and sixteen runs in one commit write little more than one.
 *
 * When another process holds the write lock, the group does not wait for it on the event loop's
 * thread beyond the connection's (short, in serve) busy timeout: it is tried again after a
 * growing pause, the event loop serving everyone meanwhile, and after `busyWaitMs` its writes
 * fail Unavailable ("the database is busy"), which clients retry.
 */
export interface GroupCommit {
  /** Run `fn` (synchronous) in the next group's transaction; settles once that group commits. */
  run<T>(fn: () => T): Promise<T>;
  /** Commit what is queued now and refuse later writes (before the database is closed). */
  close(): void;
}

export interface GroupCommitOptions {
  /** At most this many writes share a transaction (default MAX_GROUP). */
  maxGroup?: number;
  /** How long a group keeps trying to take a busy write lock before its writes fail (default 10 s). */
  busyWaitMs?: number;
}

interface Pending {
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** At most this many writes share a transaction, so one group never holds the lock for long. */
export const MAX_GROUP = 64;
export const DEFAULT_BUSY_WAIT_MS = 10_000;
/** The pauses between tries at a busy lock double from the first to the last. */
const FIRST_BUSY_PAUSE_MS = 2;
const LAST_BUSY_PAUSE_MS = 25;

export function createGroupCommit(db: Database, options: GroupCommitOptions | number = {}): GroupCommit {
  const { maxGroup = MAX_GROUP, busyWaitMs = DEFAULT_BUSY_WAIT_MS } = typeof options === "number" ? { maxGroup: options } : options;
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const savepoint = db.prepare("SAVEPOINT group_write");
  const release = db.prepare("RELEASE group_write");
  const rollbackTo = db.prepare("ROLLBACK TO group_write");
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  /** Waiting out another process's write lock: when the wait began, the next pause, its timer. */
  let busy: { since: number; pauseMs: number; timer: ReturnType<typeof setTimeout> } | undefined;

  const schedule = () => {
    if (scheduled || busy) return;
    scheduled = true;
    // setImmediate, not a microtask: the requests that are ready in this turn of the event loop
    // are handed to their handlers first, and join the group.
    setImmediate(flush);
  };

  function flush(final = false): void {
    scheduled = false;
    if (!queue.length) return;
    const group = queue.length > maxGroup ? queue.splice(0, maxGroup) : queue;
    if (group === queue) queue = [];
    // Another writer's transaction is never open between turns of the event loop; if one were,
    // each write simply joins it.
    const own = !db.inTransaction;
    if (own) {
      try {
        begin.run();
      } catch (error) {
        if (!isBusyError(error)) return fail(group, error);
        queue = [...group, ...queue];
        if (final || waitedOut()) {
          // Everything queued has waited (up to) as long: all of it fails, and is retried by its clients.
          const all = queue;
          queue = [];
          return fail(all, databaseBusyError());
        }
        return retryLater();
      }
    }
    busy = undefined;
    if (queue.length) schedule();
    let outcomes: Outcome[];
    try {
      outcomes = group.map(runInSavepoint);
      if (own) commit.run();
    } catch (error) {
      try {
        if (own && db.inTransaction) rollback.run();
      } catch {
        // The group fails with the first error either way; SQLite ends the transaction itself.
      }
      return fail(group, isBusyError(error) ? databaseBusyError() : error);
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }

  function fail(group: Pending[], error: unknown): void {
    for (const p of group) p.reject(error);
    if (!busy && queue.length) schedule();
  }

  /** Whether this wait for the lock has lasted long enough: if so, it ends (the next group starts afresh). */
  function waitedOut(): boolean {
    if (!busy || Date.now() - busy.since < busyWaitMs) return false;
    busy = undefined;
    return true;
  }

  function retryLater(): void {
    const pauseMs = busy ? Math.min(busy.pauseMs * 2, LAST_BUSY_PAUSE_MS) : FIRST_BUSY_PAUSE_MS;
    const timer = setTimeout(() => flush(), pauseMs);
    busy = { since: busy?.since ?? Date.now(), pauseMs, timer };
  }

  function runInSavepoint(p: Pending): Outcome {
    savepoint.run();
    try {
      const value = p.fn();
      if (isThenable(value)) {
        // Its writes after the first await would run outside the group's transaction.
        value.then(undefined, () => {});
        throw new PrefectliteError("Internal", "a grouped write must be synchronous (it returned a promise)");
      }
      release.run();
      return { ok: true, value };
    } catch (error) {
      rollbackTo.run();
      release.run();
      return { ok: false, error };
    }
  }

  return {
    run<T>(fn: () => T): Promise<T> {
      if (closed) return Promise.reject(new PrefectliteError("Unavailable", "the server is shutting down: the write was not made"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    close() {
      closed = true;
      if (busy) clearTimeout(busy.timer);
      busy = undefined;
      // One last try each, on the connection's own busy timeout: a lock still held fails them Unavailable.
      while (queue.length) flush(true);
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
