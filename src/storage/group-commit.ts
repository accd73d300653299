import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../core/errors.ts";

/**
 * Group commit: writes that arrive together — concurrent HTTP mutations, each handled in its
 * own turn of the event loop — share one transaction, each inside its own savepoint so that a
 * write that throws rolls back alone. In WAL mode a commit appends every B-tree page the
 * transaction touched; a flow run touches ~20 index trees, so its commit costs more than its
 * inserts, and sixteen runs in one commit write little more than one.
 */
export interface GroupCommit {
  /** Run `fn` (synchronous) in the next group's transaction; settles once that group commits. */
  run<T>(fn: () => T): Promise<T>;
  /** Commit what is queued now and refuse later writes (before the database is closed). */
  close(): void;
}

interface Pending {
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** At most this many writes share a transaction, so one group never holds the lock for long. */
export const MAX_GROUP = 64;

export function createGroupCommit(db: Database, maxGroup = MAX_GROUP): GroupCommit {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const savepoint = db.prepare("SAVEPOINT group_write");
  const release = db.prepare("RELEASE group_write");
  const rollbackTo = db.prepare("ROLLBACK TO group_write");
  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // setImmediate, not a microtask: the requests that are ready in this turn of the event loop
    // are handed to their handlers first, and join the group.
    setImmediate(flush);
  };

  function flush(): void {
    scheduled = false;
    if (!queue.length) return;
    const group = queue.length > maxGroup ? queue.splice(0, maxGroup) : queue;
    if (group === queue) queue = [];
    if (queue.length) schedule();
    // Another writer's transaction is never open between turns of the event loop; if one were,
    // each write simply joins it.
    const own = !db.inTransaction;
    let outcomes: Outcome[];
    try {
      if (own) begin.run();
      outcomes = group.map(runInSavepoint);
      if (own) commit.run();
    } catch (error) {
      try {
        if (own && db.inTransaction) rollback.run();
      } catch {
        // The group fails with the first error either way; SQLite ends the transaction itself.
      }
      const failure = isBusy(error)
        ? new PrefectliteError("Unavailable", "the database is busy: another process held its write lock too long; try again")
        : error;
      for (const p of group) p.reject(failure);
      return;
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
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
      while (queue.length) flush();
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** SQLITE_BUSY (and its extended codes): another connection held the write lock past the busy timeout. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}
