import type { HeartbeatTarget } from "../client/transport.ts";

/**
 * Heartbeats from a thread of their own (Prefect 1's "thread" heartbeat mode; its default was a
 * subprocess). The process executing a run beats for it; from the run's own thread, a task that
 * computes synchronously for minutes would stop the beats, and the zombie killer would fail a
 * run that is alive. One thread per process beats for every run under way in it. It writes the
 * flow run's heartbeat only: the cancel watch stays on the run's thread, which acts on it.
 */
export interface ThreadBeat {
  /** False once the thread failed or was given up on: the caller beats from its own timer again. */
  alive(): boolean;
  stop(): void;
}

/** Tells the caller how each beat went (the message never carries the request's headers). */
export type BeatReport = (ok: boolean, message?: string) => void;

/** setInterval's range: a longer interval would fire every millisecond. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;
const MIN_INTERVAL_MS = 10;

/** The worker's source, inline so that the compiled binary needs no separate entry point. */
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
const databases = new Map();
const beating = new Map();
const MUTATION = "mutation ($input: flow_run_id_input!) { update_flow_run_heartbeat(input: $input) { success } }";

function database(path) {
  let db = databases.get(path);
  if (!db) {
    db = new Database(path, { readwrite: true, create: false });
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA synchronous = NORMAL");
    databases.set(path, db);
  }
  return db;
}

async function beat(key, target, flowRunId, timeoutMs) {
  try {
    if (target.kind === "sqlite") {
      const changed = database(target.path).query(target.sql).run({ at: new Date().toISOString(), id: flowRunId }).changes;
      if (changed === 0) throw new Error("no such flow run");
    } else {
      const response = await fetch(target.endpoint, {
        method: "POST",
        headers: { ...target.headers, "content-type": "application/json" },
        body: JSON.stringify({ query: MUTATION, variables: { input: { flow_run_id: flowRunId } } }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) throw new Error("the server answered " + response.status + ": " + text.slice(0, 200));
    }
    postMessage({ key, ok: true });
  } catch (e) {
    postMessage({ key, ok: false, message: String((e && e.message) || e) });
  }
}

self.onmessage = (event) => {
  const m = event.data;
  if (m.type === "start") {
    const timeoutMs = Math.max(1000, m.intervalMs);
    beating.set(m.key, { timer: setInterval(() => beat(m.key, m.target, m.flowRunId, timeoutMs), m.intervalMs), path: m.target.path });
  } else if (m.type === "stop") {
    const run = beating.get(m.key);
    if (!run) return;
    clearInterval(run.timer);
    beating.delete(m.key);
    // The last run on a database: close it (a process may go on to other databases).
    if (run.path && ![...beating.values()].some((r) => r.path === run.path)) {
      try { databases.get(run.path)?.close(); } catch {}
      databases.delete(run.path);
    }
  }
};
`;

let worker: Worker | undefined;
let workerFailed = false;
let nextKey = 0;
const reports = new Map<number, BeatReport>();

/**
 * Beat for `flowRunId` every `intervalMs` from the heartbeat thread, until `stop()`; `report`
 * hears how each beat went. Undefined when no thread can be used (the caller beats from its own
 * timer instead).
 */
export function beatFromThread(target: HeartbeatTarget, flowRunId: string, intervalMs: number, report?: BeatReport): ThreadBeat | undefined {
  if (workerFailed) return undefined;
  let thread: Worker;
  try {
    thread = worker ??= startWorker();
  } catch {
    workerFailed = true;
    return undefined;
  }
  const key = nextKey++;
  if (report) reports.set(key, report);
  const every = Math.min(Math.max(Math.round(intervalMs), MIN_INTERVAL_MS), MAX_INTERVAL_MS);
  thread.postMessage({ type: "start", key, target, flowRunId, intervalMs: every });
  let stopped = false;
  return {
    alive: () => !stopped && !workerFailed,
    stop() {
      if (stopped) return;
      stopped = true;
      reports.delete(key);
      if (!workerFailed) thread.postMessage({ type: "stop", key });
    },
  };
}

function startWorker(): Worker {
  const started = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" })));
  // The thread never keeps the process alive: it dies with it, and then the beats stop, as they must.
  (started as Worker & { unref(): void }).unref();
  started.onmessage = (event: MessageEvent<{ key: number; ok: boolean; message?: string }>) => {
    reports.get(event.data.key)?.(event.data.ok, event.data.message);
  };
  started.onerror = () => {
    // The thread itself failed: its beats stop with it, and every run beats from its own timer.
    workerFailed = true;
    worker = undefined;
    started.terminate();
  };
  return started;
}
