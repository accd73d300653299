import type { HeartbeatTarget } from "../client/transport.ts";

/**
 * Heartbeats from a thread of their own (Prefect 1's "thread" heartbeat mode; its default was a
 * subprocess). The process executing a run beats for it; from the run's own thread, a task that
 * computes synchronously for minutes would stop the beats, and the zombie killer would fail a
 * run that is alive. One thread per process beats for every run under way in it. It writes the
 * flow run's heartbeat only: the cancel watch stays on the run's thread, which acts on it.
 */
export interface ThreadBeat {
  /** False once the thread failed: the caller beats from its own timer again. */
  alive(): boolean;
  stop(): void;
}

/** The worker's source, inline so that the compiled binary needs no separate entry point. */
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
const databases = new Map();
const timers = new Map();
const MUTATION = "mutation ($input: flow_run_id_input!) { update_flow_run_heartbeat(input: $input) { success } }";

function database(target) {
  let db = databases.get(target.path);
  if (!db) {
    db = new Database(target.path, { readwrite: true, create: false });
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA synchronous = NORMAL");
    databases.set(target.path, db);
  }
  return db;
}

function beat(target, flowRunId) {
  try {
    if (target.kind === "sqlite") {
      database(target).query(target.sql).run({ at: new Date().toISOString(), id: flowRunId });
    } else {
      fetch(target.endpoint, {
        method: "POST",
        headers: { ...target.headers, "content-type": "application/json" },
        body: JSON.stringify({ query: MUTATION, variables: { input: { flow_run_id: flowRunId } } }),
      }).catch(() => {});
    }
  } catch {
    // A missed beat is retried at the next one; the zombie killer allows several.
  }
}

self.onmessage = (event) => {
  const m = event.data;
  if (m.type === "start") {
    timers.set(m.key, { timer: setInterval(() => beat(m.target, m.flowRunId), m.intervalMs), path: m.target.path });
  } else if (m.type === "stop") {
    const beating = timers.get(m.key);
    if (!beating) return;
    clearInterval(beating.timer);
    timers.delete(m.key);
    // The last run on a database: close it (a process may go on to other databases).
    if (beating.path && ![...timers.values()].some((t) => t.path === beating.path)) {
      try { databases.get(beating.path)?.close(); } catch {}
      databases.delete(beating.path);
    }
  }
};
`;

let worker: Worker | undefined;
let workerFailed = false;
let nextKey = 0;

/**
 * Beat for `flowRunId` every `intervalMs` from the heartbeat thread, until `stop()`. Undefined
 * when no thread can be used (the caller beats from its own timer instead).
 */
export function beatFromThread(target: HeartbeatTarget, flowRunId: string, intervalMs: number): ThreadBeat | undefined {
  if (workerFailed) return undefined;
  try {
    worker ??= startWorker();
  } catch {
    workerFailed = true;
    return undefined;
  }
  const key = nextKey++;
  worker.postMessage({ type: "start", key, target, flowRunId, intervalMs });
  let stopped = false;
  return {
    alive: () => !workerFailed,
    stop() {
      if (stopped) return;
      stopped = true;
      worker?.postMessage({ type: "stop", key });
    },
  };
}

function startWorker(): Worker {
  const started = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" })));
  // The thread never keeps the process alive: it dies with it, and then the beats stop, as they must.
  (started as Worker & { unref(): void }).unref();
  started.onerror = () => {
    workerFailed = true;
    worker = undefined;
  };
  return started;
}
