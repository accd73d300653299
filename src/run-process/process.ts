import type { Subprocess } from "bun";
import type { ChildMessage } from "../client/channel-backend.ts";
import { writeStderr } from "../stdio.ts";
import type { RunChannelHost } from "./run-channel.ts";

/** The outcome of a flow run's process (or of one run of a reused warm child). */
export type ProcessOutcome = Awaited<FlowRunProcess["exited"]>;

export interface FlowRunProcess {
  pid: number;
  /**
   * Resolves when the process ends: its exit code, or the signal that killed it; for a run given
   * to a reused warm child, when the child says the run is done (`runOnly`: the process goes on).
   */
  exited: Promise<{ code: number | null; signal: string | null; stderrTail: string; runOnly?: boolean }>;
  kill(signal: NodeJS.Signals): void;
}

const STDERR_TAIL_BYTES = 4096;

export type FlowRunSubprocess = Subprocess<"ignore" | "pipe", "inherit" | "ignore" | "pipe", "pipe">;

/**
 * Start `command` (`prefectlite execute flow-run ID`) in its own process group (a Ctrl-C meant for
 * its parent does not reach it: the parent decides what its child gets, and a kill takes whatever
 * the run started with it). Its stdout is dropped (logs go to the backend) unless `showOutput`,
 * which passes its stdout and stderr through; the tail of its stderr is kept to explain a crash.
 * With `channel`, the child reaches the backend through `channel.host` (run-channel.ts), which
 * holds run `channel.flowRunId` (beats for it) until the process ends.
 */
export function spawnFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; showOutput?: boolean; channel?: { host: RunChannelHost; flowRunId: string } } = {},
): FlowRunProcess {
  const channel = options.channel;
  let ended = false;
  const child = {
    send(message: Parameters<FlowRunSubprocess["send"]>[0]) {
      if (!ended) proc.send(message);
    },
  };
  const proc = startRunProcess(command, env, {
    cwd: options.cwd,
    showOutput: options.showOutput,
    onMessage: channel ? (message) => void channel.host.received(child, message) : undefined,
  });
  const run = flowRunProcess(proc, stderrTail(proc, options.showOutput));
  if (channel) {
    channel.host.hold(child, channel.flowRunId);
    void run.exited.then(() => {
      ended = true;
      channel.host.release(channel.flowRunId);
    });
  }
  return run;
}

/**
 * Bun.spawn of a flow run's process, as both kinds of child are started: its own process group,
 * no stdin, stdout passed through (`showOutput`) or dropped, stderr piped; with `onMessage`, a run
 * channel (Bun's IPC, JSON) whose messages go there.
 */
export function startRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; showOutput?: boolean; onMessage?: (message: ChildMessage) => void },
): FlowRunSubprocess {
  const onMessage = options.onMessage;
  return Bun.spawn([...command], {
    env,
    cwd: options.cwd,
    stdin: "ignore",
    stdout: options.showOutput ? "inherit" : "ignore",
    stderr: "pipe",
    detached: true,
    ...(onMessage ? { serialization: "json" as const, ipc: (message: unknown) => onMessage(message as ChildMessage) } : {}),
  });
}

export function stderrTail(proc: FlowRunSubprocess, showOutput: boolean | undefined): Promise<string> {
  return (async () => {
    let tail = "";
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (showOutput) writeStderr(text);
      tail = (tail + text).slice(-STDERR_TAIL_BYTES);
    }
    return tail;
  })().catch(() => "");
}

export function flowRunProcess(proc: FlowRunSubprocess, stderr: Promise<string>): FlowRunProcess {
  return {
    pid: proc.pid,
    exited: proc.exited.then(async (code) => ({
      code: proc.signalCode ? null : code,
      signal: proc.signalCode == null ? null : String(proc.signalCode),
      stderrTail: await stderr,
    })),
    kill: (signal) => {
      // Its own process group (detached): whatever the run started goes with it.
      try {
        process.kill(-proc.pid, signal);
        return;
      } catch {
        // no such group (it has ended): the process itself, if still there
      }
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}
