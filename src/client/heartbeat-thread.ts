import type { BeatReport, ThreadWatch, ThreadWatchOptions } from "./backend.ts";
import { FLOW_RUN_STATE_ONLY, HEARTBEAT } from "./documents.ts";

/**
 * Heartbeats and the cancel watch from a thread of their own (Prefect 1's "thread" heartbeat
 * mode; its default was a subprocess): the plumbing of Backend.watchFromThread. The process
 * executing a run beats for it; from the run's own thread, a task that computes synchronously for
 * minutes would stop the beats, and the zombie killer would fail a run that is alive. One thread
 * per process serves every run under way in it. For each run it also reads the flow run's state
 * every poll and, once it is Cancelling or Cancelled, sets the run's cancel flag — memory shared
 * with the run's thread (a SharedArrayBuffer), which the engine reads before each task run
 * starts, so a cancel is seen at once even after a long synchronous stretch — and tells the run's
 * thread by message.
 */

/**
 * How the thread reaches the backend: the server's GraphQL endpoint and the headers to send, or
 * the embedded database's file with its heartbeat and state statements. Built by the backends
 * only; no caller sees it.
 */
export type ThreadTarget =
  | { kind: "http"; endpoint: string; headers: Record<string, string> }
  | { kind: "sqlite"; path: string; sql: string; stateSql: string };

/** setInterval's range: a longer interval would fire every millisecond. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;
const MIN_INTERVAL_MS = 10;

/** The worker's source, inline so that the compiled binary needs no separate entry point. */
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
const databases = new Map();
const watching = new Map();
const MUTATION = ${JSON.stringify(HEARTBEAT)};
const STATE_QUERY = ${JSON.stringify(FLOW_RUN_STATE_ONLY)};

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

async function graphql(target, query, variables, timeoutMs) {
  const response = await fetch(target.endpoint, {
    method: "POST",
    headers: { ...target.headers, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error("the server answered " + response.status + ": " + text.slice(0, 200));
  return JSON.parse(text);
}

async function beat(key, run) {
  try {
    if (run.target.kind === "sqlite") {
      const changed = database(run.target.path).query(run.target.sql).run({ at: new Date().toISOString(), id: run.flowRunId }).changes;
      if (changed === 0) throw new Error("no such flow run");
    } else {
      await graphql(run.target, MUTATION, { input: { flow_run_id: run.flowRunId } }, run.timeoutMs);
    }
    postMessage({ key, ok: true });
  } catch (e) {
    postMessage({ key, ok: false, message: String((e && e.message) || e) });
  }
}

async function readState(run) {
  if (run.target.kind === "sqlite") return database(run.target.path).query(run.target.stateSql).get({ id: run.flowRunId })?.state;
  return (await graphql(run.target, STATE_QUERY, { id: run.flowRunId }, run.timeoutMs)).data?.flow_run_by_pk?.state;
}

/** A failed read is left to the beats to report: the next poll tries again. */
async function poll(key, run) {
  if (run.reading || run.cancelSeen) return;
  run.reading = true;
  try {
    const state = await readState(run);
    if ((state === "Cancelling" || state === "Cancelled") && watching.get(key) === run) {
      run.cancelSeen = true;
      clearInterval(run.poller);
      Atomics.store(run.flag, 0, 1);
      postMessage({ key, cancel: true });
    }
  } catch {
  } finally {
    run.reading = false;
  }
}

self.onmessage = (event) => {
  const m = event.data;
  if (m.type === "start") {
    const run = { target: m.target, flowRunId: m.flowRunId, flag: m.flag, timeoutMs: Math.max(1000, m.heartbeatMs), reading: false, cancelSeen: false };
    run.beater = setInterval(() => beat(m.key, run), m.heartbeatMs);
    run.poller = setInterval(() => poll(m.key, run), m.cancelPollMs);
    watching.set(m.key, run);
  } else if (m.type === "stop") {
    const run = watching.get(m.key);
    if (!run) return;
    clearInterval(run.beater);
    clearInterval(run.poller);
    watching.delete(m.key);
    // The last run on a database: close it (a process may go on to other databases).
    const path = run.target.path;
    if (path && ![...watching.values()].some((r) => r.target.path === path)) {
      try { databases.get(path)?.close(); } catch {}
      databases.delete(path);
    }
  }
};
`;

let worker: Worker | undefined;
let workerFailed = false;
let nextKey = 0;
const listeners = new Map<number, { onBeat?: BeatReport; onCancel?: () => void }>();

/**
 * Beat for `flowRunId` and watch it for a cancel from the heartbeat thread, until `stop()`.
 * Undefined when no thread can be used (the caller beats and polls from its own timer instead).
 */
export function watchFromThread(target: ThreadTarget, flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined {
  if (workerFailed) return undefined;
  let thread: Worker;
  try {
    thread = worker ??= startWorker();
  } catch {
    workerFailed = true;
    return undefined;
  }
  const key = nextKey++;
  listeners.set(key, { onBeat: options.onBeat, onCancel: options.onCancel });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const every = (ms: number) => Math.min(Math.max(Math.round(ms), MIN_INTERVAL_MS), MAX_INTERVAL_MS);
  thread.postMessage({ type: "start", key, target, flowRunId, flag, heartbeatMs: every(options.heartbeatMs), cancelPollMs: every(options.cancelPollMs) });
  let stopped = false;
  return {
    alive: () => !stopped && !workerFailed,
    cancelRequested: () => Atomics.load(flag, 0) === 1,
    stop() {
      if (stopped) return;
      stopped = true;
      listeners.delete(key);
      if (!workerFailed) thread.postMessage({ type: "stop", key });
    },
  };
}

function startWorker(): Worker {
  const started = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" })));
  // The thread never keeps the process alive: it dies with it, and then the beats stop, as they must.
  (started as Worker & { unref(): void }).unref();
  started.onmessage = (event: MessageEvent<{ key: number; ok?: boolean; message?: string; cancel?: boolean }>) => {
    const listener = listeners.get(event.data.key);
    if (event.data.cancel) listener?.onCancel?.();
    else listener?.onBeat?.(event.data.ok === true, event.data.message);
  };
  started.onerror = () => {
    // The thread itself failed: its beats stop with it, and every run beats from its own timer.
    workerFailed = true;
    worker = undefined;
    started.terminate();
  };
  return started;
}
