import type { BeatReport, ThreadWatch, ThreadWatchOptions } from "./backend.ts";
import { workerModuleUrl } from "./worker-module.ts";

/**
 * Heartbeats and the cancel watch from a thread of their own (Prefect 1's "thread" heartbeat
 * mode; its default was a subprocess): the plumbing of Backend.watchFromThread. The process
 * executing a run beats for it; from the run's own thread, a task that computes synchronously for
 * minutes would stop the beats, and the zombie killer would fail a run that is alive. One thread
 * per worker module serves every run under way in the process. For each run it also reads the
 * flow run's state every poll and, once it is Cancelling or Cancelled, sets the run's cancel flag
 * — memory shared with the run's thread (a SharedArrayBuffer), which the engine reads before each
 * task run starts, so a cancel is seen at once even after a long synchronous stretch — and tells
 * the run's thread by message. The thread's side is heartbeat-worker-loop.ts.
 */

/** The server's GraphQL endpoint and the headers to send (heartbeat-worker.ts). */
export interface HttpThreadTarget {
  kind: "http";
  endpoint: string;
  headers: Record<string, string>;
}

/**
 * The database, reached through the store by the worker module `worker` (runtime's
 * heartbeat-worker.ts: client opens no database).
 */
export interface StoreThreadTarget {
  kind: "store";
  /** The database URL (may carry a password: it never leaves this process). */
  url: string;
  worker: string;
}

/** How the thread reaches the backend. Built by the backends only; no caller sees it. */
export type ThreadTarget = HttpThreadTarget | StoreThreadTarget;

/** The worker module of HTTP targets. */
const HTTP_WORKER = workerModuleUrl("client/heartbeat-worker.ts");

/** setInterval's range: a longer interval would fire every millisecond. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;
const MIN_INTERVAL_MS = 10;

interface Thread {
  worker: Worker | undefined;
  failed: boolean;
}

/** The thread of each worker module, started on first use. */
const threads = new Map<string, Thread>();
let nextKey = 0;
const listeners = new Map<number, { onBeat?: BeatReport; onCancel?: () => void }>();

/**
 * Beat for `flowRunId` and watch it for a cancel from the heartbeat thread, until `stop()`.
 * Undefined when no thread can be used (the caller beats and polls from its own timer instead).
 */
export function watchFromThread(target: ThreadTarget, flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined {
  const url = target.kind === "http" ? HTTP_WORKER : target.worker;
  let thread = threads.get(url);
  if (!thread) threads.set(url, (thread = { worker: undefined, failed: false }));
  if (thread.failed) return undefined;
  let worker: Worker;
  try {
    worker = thread.worker ??= startWorker(url, thread);
  } catch {
    thread.failed = true;
    return undefined;
  }
  const key = nextKey++;
  listeners.set(key, { onBeat: options.onBeat, onCancel: options.onCancel });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const every = (ms: number) => Math.min(Math.max(Math.round(ms), MIN_INTERVAL_MS), MAX_INTERVAL_MS);
  worker.postMessage({ type: "start", key, target, flowRunId, flag, heartbeatMs: every(options.heartbeatMs), cancelPollMs: every(options.cancelPollMs) });
  let stopped = false;
  const owner = thread;
  return {
    alive: () => !stopped && !owner.failed,
    cancelRequested: () => Atomics.load(flag, 0) === 1,
    stop() {
      if (stopped) return;
      stopped = true;
      listeners.delete(key);
      if (!owner.failed) worker.postMessage({ type: "stop", key });
    },
  };
}

function startWorker(url: string, thread: Thread): Worker {
  const started = new Worker(url);
  // The thread never keeps the process alive: it dies with it, and then the beats stop, as they must.
  (started as Worker & { unref(): void }).unref();
  started.onmessage = (event: MessageEvent<{ key: number; ok?: boolean; message?: string; cancel?: boolean }>) => {
    const listener = listeners.get(event.data.key);
    if (event.data.cancel) listener?.onCancel?.();
    else listener?.onBeat?.(event.data.ok === true, event.data.message);
  };
  started.onerror = () => {
    // The thread itself failed: its beats stop with it, and every run beats from its own timer.
    thread.failed = true;
    thread.worker = undefined;
    started.terminate();
  };
  return started;
}
