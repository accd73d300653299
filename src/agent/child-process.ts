import type { Subprocess } from "bun";
import { writeStderr, writeStdout } from "../stdio.ts";

/** The environment of a flow run's process: ours, then the run config's, then where the backend is. */
export function childEnvironment(
  parent: Record<string, string | undefined>,
  runConfigEnv: Record<string, string>,
  backendEnv: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined) env[k] = v;
  Object.assign(env, runConfigEnv, backendEnv);
  // A child of the embedded database must not follow a stray API URL elsewhere.
  if (!("PREFECTLITE_API_URL" in backendEnv)) delete env.PREFECTLITE_API_URL;
  return env;
}

export interface FlowRunProcess {
  pid: number;
  /** Resolves when the process ends: its exit code, or the signal that killed it. */
  exited: Promise<{ code: number | null; signal: string | null; stderrTail: string }>;
  kill(signal: NodeJS.Signals): void;
}

const STDERR_TAIL_BYTES = 4096;

type FlowRunSubprocess = Subprocess<"ignore" | "pipe", "inherit" | "ignore" | "pipe", "pipe">;

/**
 * Start `command` (`prefectlite execute flow-run ID`) in its own process group (a Ctrl-C meant for the
 * agent does not reach it: the agent decides what its children get). Its stdout is dropped
 * (logs go to the backend); the tail of its stderr is kept to explain a crash.
 */
export function spawnFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; showOutput?: boolean } = {},
): FlowRunProcess {
  const proc: FlowRunSubprocess = Bun.spawn([...command], {
    env,
    cwd: options.cwd,
    stdin: "ignore",
    stdout: options.showOutput ? "inherit" : "ignore",
    stderr: "pipe",
    detached: true,
  });
  return flowRunProcess(proc, stderrTail(proc, options.showOutput));
}

/** A child started ahead of time (`execute flow-run --wait-for-id`) that waits for its run id. */
export interface WarmFlowRunProcess {
  pid: number;
  /** True once it printed the ready line: everything is loaded and connected. */
  readonly isReady: boolean;
  /** Resolves true when it is ready, false if it ended first. */
  ready: Promise<boolean>;
  /** Resolves when the process ends (while idle: it died, or `dismiss()`). */
  exited: FlowRunProcess["exited"];
  /** Give it its one run: the id goes to its stdin, which then closes. */
  assign(flowRunId: string): FlowRunProcess;
  /** No run for it: close its stdin (it exits at once). */
  dismiss(): void;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Start a warm child: like {@link spawnFlowRunProcess}, with its stdin a pipe for the run id and its
 * stdout read for the ready line ({@link readyLine}); what it prints after that line is passed
 * through with `showOutput`, else dropped.
 */
export function spawnWarmFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  readyLine: string,
  options: { cwd?: string; showOutput?: boolean } = {},
): WarmFlowRunProcess {
  const proc = Bun.spawn([...command], { env, cwd: options.cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe", detached: true });
  const stderr = stderrTail(proc, options.showOutput);
  let isReady = false;
  let stdinOpen = true;
  let settle: (ok: boolean) => void = () => {};
  const readySignal = new Promise<boolean>((resolve) => (settle = resolve));
  void (async () => {
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let head = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (isReady) {
        if (options.showOutput) writeStdout(value);
        continue;
      }
      head += decoder.decode(value, { stream: true });
      const newline = head.indexOf("\n");
      if (newline < 0) continue;
      if (head.slice(0, newline) !== readyLine) {
        // Not the protocol: stop reading its stdout (it is dropped) and say it never became ready.
        void reader.cancel().catch(() => undefined);
        return false;
      }
      isReady = true;
      settle(true);
      if (options.showOutput && head.length > newline + 1) writeStdout(head.slice(newline + 1));
    }
  })()
    .catch(() => false)
    .then((ok) => settle(ok));
  const closeStdin = () => {
    if (!stdinOpen) return;
    stdinOpen = false;
    try {
      proc.stdin.end();
    } catch {
      // already gone
    }
  };
  const run = flowRunProcess(proc, stderr);
  return {
    pid: proc.pid,
    get isReady() {
      return isReady;
    },
    ready: readySignal,
    exited: run.exited,
    assign(flowRunId) {
      if (!stdinOpen) throw new Error("this warm child was already given a run");
      try {
        proc.stdin.write(`${flowRunId}\n`);
        void proc.stdin.flush();
      } finally {
        closeStdin();
      }
      return run;
    },
    dismiss: closeStdin,
    kill: run.kill,
  };
}

function stderrTail(proc: FlowRunSubprocess, showOutput: boolean | undefined): Promise<string> {
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

function flowRunProcess(proc: FlowRunSubprocess, stderr: Promise<string>): FlowRunProcess {
  return {
    pid: proc.pid,
    exited: proc.exited.then(async (code) => ({
      code: proc.signalCode ? null : code,
      signal: proc.signalCode == null ? null : String(proc.signalCode),
      stderrTail: await stderr,
    })),
    kill: (signal) => {
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}
