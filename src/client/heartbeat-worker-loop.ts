/**
 * The heartbeat thread's side of its protocol (heartbeat-thread.ts is the other side): for each
 * run it is told to `start`, beat every heartbeatMs and read the flow run's state every
 * cancelPollMs until `stop`; on Cancelling or Cancelled, set the run's shared cancel flag and say
 * so. How a beat and a read reach the backend is the worker module's (heartbeat-worker.ts over
 * HTTP, runtime/heartbeat-worker.ts through the store); runs on one backend share one connection.
 *
 * Messages in:  { type: "start", key, target, flowRunId, flag, heartbeatMs, cancelPollMs } | { type: "stop", key }
 * Messages out: { key, ok: boolean, message? } after each beat | { key, cancel: true } once
 */

/** One backend as the thread reaches it. */
export interface WatchConnection {
  /** Throws when the beat was not recorded (the run does not exist, the backend refused it). */
  beat(flowRunId: string, timeoutMs: number): Promise<void>;
  /** The flow run's state now (undefined when there is no such run). */
  state(flowRunId: string, timeoutMs: number): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface WatchConnector<Target> {
  /** Runs whose targets have the same key share one connection. */
  key(target: Target): string;
  open(target: Target): Promise<WatchConnection>;
}

interface StartMessage<Target> {
  type: "start";
  key: number;
  target: Target;
  flowRunId: string;
  flag: Int32Array;
  heartbeatMs: number;
  cancelPollMs: number;
}

interface Watched<Target> {
  target: Target;
  connectionKey: string;
  flowRunId: string;
  flag: Int32Array;
  timeoutMs: number;
  reading: boolean;
  cancelSeen: boolean;
  beater?: ReturnType<typeof setInterval>;
  poller?: ReturnType<typeof setInterval>;
}

/** Serve the protocol on this worker thread with `connector`. */
export function serveHeartbeatWatches<Target>(connector: WatchConnector<Target>): void {
  const connections = new Map<string, Promise<WatchConnection>>();
  const watching = new Map<number, Watched<Target>>();

  /** The shared connection; a failed open is forgotten, so the next beat tries again. */
  function connection(run: Watched<Target>): Promise<WatchConnection> {
    let opened = connections.get(run.connectionKey);
    if (!opened) {
      opened = connector.open(run.target);
      connections.set(run.connectionKey, opened);
      opened.catch(() => {
        if (connections.get(run.connectionKey) === opened) connections.delete(run.connectionKey);
      });
    }
    return opened;
  }

  async function beat(key: number, run: Watched<Target>): Promise<void> {
    try {
      await (await connection(run)).beat(run.flowRunId, run.timeoutMs);
      postMessage({ key, ok: true });
    } catch (e) {
      postMessage({ key, ok: false, message: String((e as Error)?.message ?? e) });
    }
  }

  /** A failed read is left to the beats to report: the next poll tries again. */
  async function poll(key: number, run: Watched<Target>): Promise<void> {
    if (run.reading || run.cancelSeen) return;
    run.reading = true;
    try {
      const state = await (await connection(run)).state(run.flowRunId, run.timeoutMs);
      if ((state === "Cancelling" || state === "Cancelled") && watching.get(key) === run) {
        run.cancelSeen = true;
        clearInterval(run.poller);
        Atomics.store(run.flag, 0, 1);
        postMessage({ key, cancel: true });
      }
    } catch {
      // as above
    } finally {
      run.reading = false;
    }
  }

  self.onmessage = (event: MessageEvent<StartMessage<Target> | { type: "stop"; key: number }>) => {
    const m = event.data;
    if (m.type === "start") {
      const run: Watched<Target> = {
        target: m.target,
        connectionKey: connector.key(m.target),
        flowRunId: m.flowRunId,
        flag: m.flag,
        timeoutMs: Math.max(1000, m.heartbeatMs),
        reading: false,
        cancelSeen: false,
      };
      run.beater = setInterval(() => void beat(m.key, run), m.heartbeatMs);
      run.poller = setInterval(() => void poll(m.key, run), m.cancelPollMs);
      watching.set(m.key, run);
    } else if (m.type === "stop") {
      const run = watching.get(m.key);
      if (!run) return;
      clearInterval(run.beater);
      clearInterval(run.poller);
      watching.delete(m.key);
      // The last run on a backend: close its connection (a process may go on to other backends).
      if (![...watching.values()].some((r) => r.connectionKey === run.connectionKey)) {
        const opened = connections.get(run.connectionKey);
        connections.delete(run.connectionKey);
        opened?.then((c) => c.close()).catch(() => {});
      }
    }
  };
}
