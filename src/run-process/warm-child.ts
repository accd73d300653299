/**
 * The warm-child protocol, both sides, over the run channel (client/channel-backend.ts). An agent
 * starts children ahead of time (`prefectlite execute flow-run --wait-for-id`) that load
 * prefectlite, then say `ready` and wait for `run` messages. After each run a child says `done`
 * (its exit code for it, and its memory); it exits when told `bye` (an agent sends it after a
 * child's last run), when the channel closes while it is idle, or after a run that left work
 * behind (cancelled, backend lost).
 */
import type { ChannelBackend, ChildMessage, ParentMessage } from "../client/channel-backend.ts";
import { flowRunProcess, startRunProcess, stderrTail, type FlowRunProcess, type ProcessOutcome } from "./process.ts";
import type { RunChannelHost } from "./run-channel.ts";

/** What one run handed to a warm child came to. */
export interface WarmRunResult {
  /** The child's exit code for it. */
  code: number;
  /** The child must take no more runs (the run left work behind: cancelled, backend lost). */
  stop: boolean;
}

/**
 * The child's side: after `warmUp`, say ready, then execute each run the parent sends, saying done
 * after each, until told bye, the channel closes, a signal arrives or a run says stop. Returns
 * the last run's exit code (0 if it had none), or the signal's once interrupted.
 */
export async function serveWarmRuns(child: {
  channel: ChannelBackend;
  warmUp(): Promise<void>;
  execute(flowRunId: string): Promise<WarmRunResult>;
  /** Resolves when a signal arrived. */
  interrupted: Promise<unknown>;
  /** The exit code for the signal that arrived, else undefined. */
  signalCode(): number | undefined;
}): Promise<number> {
  const inbox: Array<string | undefined> = [];
  let wake: () => void = () => {};
  const stopListening = child.channel.onRunMessage((message) => {
    if (message.t === "run") inbox.push(message.id);
    else if (message.t === "bye") inbox.push(undefined);
    wake();
  });
  const nextRun = async (): Promise<string | undefined> => {
    while (inbox.length === 0) {
      if (!child.channel.connected) return undefined;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return inbox.shift();
  };
  try {
    await child.warmUp();
    child.channel.tell({ t: "ready" });
    let code = 0;
    for (;;) {
      const id = await Promise.race([nextRun(), child.interrupted.then(() => undefined)]);
      const signalled = child.signalCode();
      if (signalled !== undefined) return signalled;
      if (id === undefined) return code;
      const result = await child.execute(id);
      code = result.code;
      const after = child.signalCode();
      if (after !== undefined) return after;
      child.channel.tell({ t: "done", id, code, stop: result.stop, rss: process.memoryUsage.rss() });
      if (result.stop) return code;
    }
  } finally {
    stopListening();
  }
}

/** A child started ahead of time (`execute flow-run --wait-for-id`) that waits for runs. */
export interface WarmFlowRunProcess {
  pid: number;
  /** True once it said it is ready: everything is loaded. */
  readonly isReady: boolean;
  /** Resolves true when it is ready, false if it ended first. */
  ready: Promise<boolean>;
  /** Resolves when the process ends (while idle: it died, or `dismiss()`). */
  exited: FlowRunProcess["exited"];
  /** Runs it has been given. */
  readonly runs: number;
  /** Its resident memory after its last run, in bytes (0 before its first). */
  readonly rss: number;
  /** Alive, not dismissed, and no run in hand: it can be given another. */
  readonly canTakeRun: boolean;
  /**
   * Give it a run. By default it is its last (the child exits after it) and the handle is the
   * process. With `more`, the handle ends when the child says the run is done — its exit code
   * for it — or when the process ends; the child then waits for another.
   */
  assign(flowRunId: string, options?: { more?: boolean }): FlowRunProcess;
  /** No (further) run for it: it exits at once. */
  dismiss(): void;
  kill(signal: NodeJS.Signals): void;
}

type Outcome = ProcessOutcome;

/**
 * Start a warm child (the parent's side of the protocol): like a cold child (run-process/process.ts)
 * — its stdout passed through with `showOutput`, else dropped — with the run channel answered by
 * `host`, which also beats for the run it holds.
 */
export function spawnWarmFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  options: { host: RunChannelHost; cwd?: string; showOutput?: boolean },
): WarmFlowRunProcess {
  const host = options.host;
  let isReady = false;
  let dismissed = false;
  let ended = false;
  let runs = 0;
  let rss = 0;
  /** The run in hand, from `assign` until it is done (or the process ends). */
  let current: { id: string; settle?: (outcome: Outcome) => void } | undefined;
  let settleReady: (ok: boolean) => void = () => {};
  const readySignal = new Promise<boolean>((resolve) => (settleReady = resolve));
  const channel = {
    send(message: ParentMessage) {
      if (!ended) proc.send(message);
    },
  };
  const onMessage = (message: ChildMessage) => {
    const own = host.received(channel, message);
    if (own?.t === "ready") {
      isReady = true;
      settleReady(true);
    } else if (own?.t === "done" && current?.id === own.id) {
      const run = current;
      current = undefined;
      rss = own.rss;
      host.release(own.id);
      if (own.stop) dismissed = true; // it exits by itself
      run.settle?.({ code: own.code, signal: null, stderrTail: "", runOnly: true });
    }
  };
  const proc = startRunProcess(command, env, { cwd: options.cwd, showOutput: options.showOutput, onMessage });
  const whole = flowRunProcess(proc, stderrTail(proc, options.showOutput));
  void whole.exited.then((outcome) => {
    ended = true;
    settleReady(false);
    if (current) {
      host.release(current.id);
      current.settle?.(outcome); // it died holding a run: the run's handle ends as the process did
      current = undefined;
    }
  });
  const say = (message: ParentMessage) => {
    try {
      channel.send(message);
    } catch {
      // gone: its exit settles everything
    }
  };
  return {
    pid: proc.pid,
    get isReady() {
      return isReady;
    },
    get runs() {
      return runs;
    },
    get rss() {
      return rss;
    },
    get canTakeRun() {
      return !dismissed && !ended && current === undefined;
    },
    ready: readySignal,
    exited: whole.exited,
    assign(flowRunId, assignOptions = {}) {
      if (dismissed || current || ended) throw new Error("this warm child cannot take a run now");
      const more = assignOptions.more === true;
      let handle: FlowRunProcess = whole;
      current = { id: flowRunId };
      if (more) {
        const runEnded = new Promise<Outcome>((resolve) => (current!.settle = resolve));
        handle = { pid: proc.pid, exited: runEnded, kill: whole.kill };
      }
      runs++;
      host.hold(channel, flowRunId);
      try {
        channel.send({ t: "run", id: flowRunId });
        if (!more) {
          dismissed = true;
          channel.send({ t: "bye" });
        }
      } catch (e) {
        host.release(flowRunId);
        current = undefined;
        dismissed = true;
        throw e;
      }
      return handle;
    },
    dismiss() {
      if (dismissed) return;
      dismissed = true;
      say({ t: "bye" });
    },
    kill: whole.kill,
  };
}
