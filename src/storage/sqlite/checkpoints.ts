import type { Database } from "bun:sqlite";

/**
 * WAL checkpoints off the write path. SQLite's default checkpoints from inside the COMMIT that
 * grows the WAL past 1,000 pages, and with synchronous=NORMAL a checkpoint fsyncs the WAL and
 * the database: measured here, one such COMMIT in 30 took 60–85 ms and those few were three
 * quarters of all commit time. Instead, a worker thread with its own connection runs a PASSIVE
 * checkpoint (it never blocks readers or writers) when this connection has written
 * CHANGES_PER_CHECKPOINT rows (looked at every CHECK_MS), or any rows TRICKLE_MS ago; the fsyncs
 * happen on that thread. This connection keeps a far higher automatic threshold as a
 * safety net in case the worker falls behind.
 */
export interface BackgroundCheckpoints {
  stop(): void;
}

export const CHECK_MS = 200;
/** Rows changed on this connection that call for a checkpoint at the next check… */
export const CHANGES_PER_CHECKPOINT = 1000;
/** …or, with fewer, this long since the last one. */
export const TRICKLE_MS = 10_000;
/** Pages the WAL may reach before a COMMIT on this connection checkpoints by itself (~40 MB). */
export const SAFETY_AUTOCHECKPOINT_PAGES = 10_000;
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/** After a checkpoint resets the WAL, its file is truncated to this size. */
const JOURNAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/** The worker's source, inline so that the compiled binary needs no separate entry point. */
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db;
self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "stop") {
    try { db?.close(); } catch {}
    process.exit(0); // in a worker: ends this thread only
  }
  try {
    if (!db) {
      db = new Database(message.path, { readwrite: true, create: false });
      db.exec("PRAGMA busy_timeout = 5000");
    }
    const row = db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
    postMessage({ ok: true, busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    postMessage({ ok: false, message: String(error && error.message || error) });
  }
};
`;

let workerUrl: string | undefined;

export function startBackgroundCheckpoints(db: Database, path: string): BackgroundCheckpoints {
  db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT_PAGES}`);
  db.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  const totalChanges = db.prepare<{ n: number }, []>("SELECT total_changes() AS n");
  let seen = totalChanges.get()!.n;
  let worker: Worker | undefined;
  let inFlight = false;
  let failed = false;
  let stopped = false;

  let lastCheckpoint = Date.now();

  const tick = () => {
    if (inFlight || failed) return;
    const changes = totalChanges.get()!.n - seen;
    // A busy writer is checkpointed often; a trickle (heartbeats, a few runs) at most every
    // TRICKLE_MS, so an idle server does not fsync for every write.
    if (changes === 0 || (changes < CHANGES_PER_CHECKPOINT && Date.now() - lastCheckpoint < TRICKLE_MS)) return;
    seen += changes;
    lastCheckpoint = Date.now();
    if (!worker) {
      workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      worker = new Worker(workerUrl);
      (worker as Worker & { unref(): void }).unref();
      // Whatever the outcome: a failed checkpoint is retried on the next writes, and the
      // safety threshold above still bounds the WAL.
      worker.onmessage = () => {
        inFlight = false;
      };
      worker.onerror = () => {
        // The worker itself failed (not a checkpoint): give checkpoints back to SQLite.
        if (stopped) return;
        failed = true;
        worker?.terminate();
        worker = undefined;
        try {
          db.exec(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
        } catch {
          // closed meanwhile
        }
      };
    }
    inFlight = true;
    worker.postMessage({ type: "checkpoint", path });
  };
  const timer = setInterval(tick, CHECK_MS);
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      worker?.postMessage({ type: "stop" });
      worker = undefined;
    },
  };
}
