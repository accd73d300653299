import { errorMessage } from "../core/errors.ts";
import type { Backend } from "../client/backend.ts";
import { writeStderr } from "../stdio.ts";

/** Failed beats in a row from the heartbeat thread before this thread's timer beats instead. */
const FAILED_BEATS_BEFORE_FALLBACK = 3;

export interface RunWatchOptions {
  flowRunId: string;
  /** Beat every this many ms (PREFECTLITE_HEARTBEAT_SECONDS). */
  heartbeatMs: number;
  /** False: beat and poll from this thread's timer only (default: from the backend's heartbeat thread when it has one, which a busy run's thread does not hold up). */
  thread?: boolean;
  /** Look for a cancel request every this many ms (default: 1 s, or the heartbeat if shorter). */
  pollMs?: number;
  /** Called once, when the flow run is seen Cancelling or Cancelled. */
  onCancel: () => void;
  warn?: (message: string) => void;
}

export interface RunWatch {
  /**
   * True once the flow run was seen Cancelling or Cancelled. Synchronous and cheap: the engine
   * asks before each task run starts. Seen by the heartbeat thread, it is true even while this
   * thread has been too busy to hear of it.
   */
  cancelRequested(): boolean;
  stop(): void;
}

/**
 * While a backed run executes: heartbeats (update_flow_run_heartbeat) so the zombie killer and
 * Lazarus know the process is alive, and a cheap poll of the run's state so a cancel request
 * (Cancelling) stops the run promptly — both from the heartbeat thread when the backend can be
 * reached from there, else from this thread's timer. `stop()` ends both.
 */
export function watchRun(api: Pick<Backend, "heartbeat" | "readFlowRunState" | "watchFromThread">, options: RunWatchOptions): RunWatch {
  const pollMs = options.pollMs ?? Math.min(1000, options.heartbeatMs);
  const warn = options.warn ?? ((m: string) => writeStderr(`${m}\n`));
  let stopped = false;
  let cancelled = false;
  let lastBeat = Date.now();
  let busy = false;
  let warned = false;
  const cancel = () => {
    if (stopped || cancelled) return;
    cancelled = true;
    options.onCancel();
  };
  // Beats and polls from the thread; after FAILED_BEATS_BEFORE_FALLBACK failed beats in a row
  // (the first one said once), from this thread's timer again.
  let failedBeats = 0;
  const thread = options.thread === false ? undefined : api.watchFromThread(options.flowRunId, {
      heartbeatMs: options.heartbeatMs,
      cancelPollMs: pollMs,
      onCancel: cancel,
      onBeat: (ok: boolean, message?: string) => {
        if (ok) {
          failedBeats = 0;
          return;
        }
        if (failedBeats++ === 0) warn(`Heartbeat for flow run ${options.flowRunId} failed: ${message}`);
        if (failedBeats >= FAILED_BEATS_BEFORE_FALLBACK) thread?.stop();
      },
    });

  const tick = async () => {
    if (busy || stopped) return;
    // The thread saw the cancel, and its message has not been handled yet.
    if (thread?.cancelRequested()) return cancel();
    if (thread?.alive()) return;
    busy = true;
    try {
      if (Date.now() - lastBeat >= options.heartbeatMs) {
        lastBeat = Date.now();
        await api.heartbeat(options.flowRunId);
      }
      const current = await api.readFlowRunState(options.flowRunId);
      if (current?.state === "Cancelling" || current?.state === "Cancelled") cancel();
      warned = false;
    } catch (e) {
      if (!warned) warn(`Heartbeat for flow run ${options.flowRunId} failed: ${errorMessage(e)}`);
      warned = true;
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void tick(), pollMs);
  return {
    cancelRequested: () => cancelled || thread?.cancelRequested() === true,
    stop() {
      stopped = true;
      clearInterval(timer);
      thread?.stop();
    },
  };
}
