import type { SQL } from "bun";
import type { RunsChanged, Store } from "../store.ts";
import type { Session } from "./session.ts";

/** The channel every process on the database listens on. */
export const RUNS_CHANNEL = "prefectlite_runs";
/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7_900;
/** A LISTEN that failed to start is tried again after this long. */
const LISTEN_RETRY_MS = 1_000;

interface Subscriber {
  listener: (hint: RunsChanged) => void;
  onReady?: () => void;
}

/** A notification's payload as a hint, or undefined for one that is not ours. */
function parseHint(payload: string): RunsChanged | undefined {
  try {
    const value = JSON.parse(payload) as { at?: unknown; labels?: unknown };
    if (typeof value?.at !== "string" || !Array.isArray(value.labels) || !value.labels.every((l) => typeof l === "string")) return undefined;
    return { at: value.at, labels: value.labels };
  } catch {
    return undefined;
  }
}

/**
 * runsChanged as NOTIFY prefectlite_runs on the caller's transaction (delivered to every listening
 * process on commit, dropped on rollback, a rolled-back savepoint's included); subscribe as one
 * LISTEN per storage, shared by its subscribers. onReady runs when the LISTEN is acknowledged and
 * again after Bun re-listens on a lost connection (notifications meanwhile are lost: catch up).
 */
export function createEvents(pool: SQL, db: Session): Store["events"] & { close(): Promise<void> } {
  const subscribers = new Set<Subscriber>();
  let listening: Promise<SQL.ListenSubscription | undefined> | undefined;
  let ready = false;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  function deliver(payload: string): void {
    const hint = parseHint(payload);
    if (!hint) return;
    for (const s of [...subscribers]) {
      try {
        s.listener(hint);
      } catch {
        // one subscriber's failure is not another's
      }
    }
  }

  function onListen(): void {
    ready = true;
    for (const s of [...subscribers]) {
      try {
        s.onReady?.();
      } catch {
        // as above
      }
    }
  }

  function listen(): void {
    if (listening || closed) return;
    // Registered outside any transaction of the caller's, so no callback can ever run on it.
    const attempt: Promise<SQL.ListenSubscription | undefined> = db.outside(() => pool.listen(RUNS_CHANNEL, deliver, onListen)).catch(() => {
      // The database is unreachable now: try again while anyone is subscribed (the pollers cover the gap).
      if (listening === attempt) listening = undefined;
      if (!closed && subscribers.size) retry = setTimeout(listen, LISTEN_RETRY_MS);
      return undefined;
    });
    listening = attempt;
  }

  async function unlisten(): Promise<void> {
    const current = listening;
    listening = undefined;
    ready = false;
    if (retry) clearTimeout(retry);
    retry = undefined;
    const subscription = await current;
    await subscription?.unlisten().catch(() => {});
  }

  return {
    async runsChanged(hint) {
      let payload = JSON.stringify({ at: hint.at, labels: hint.labels });
      // Too many labels to send: an empty list, which every agent's labels cover (a spare wake-up, never a missed one).
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) payload = JSON.stringify({ at: hint.at, labels: [] });
      await db.query("SELECT pg_notify($1, $2)", [RUNS_CHANNEL, payload]);
    },
    subscribe(listener, onReady) {
      const s: Subscriber = { listener, onReady };
      subscribers.add(s);
      if (!listening) listen();
      else if (ready) queueMicrotask(() => subscribers.has(s) && s.onReady?.());
      return () => {
        subscribers.delete(s);
        if (!subscribers.size) void unlisten();
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      await unlisten();
    },
  };
}
