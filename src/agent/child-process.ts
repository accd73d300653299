import type { Subprocess } from "bun";
import { flowRunProcessEnv } from "../core/run-env.ts";
import { writeStderr, writeStdout } from "../stdio.ts";

/**
 * The environment of a flow run's process: ours, then the run config's (without the variables a
 * run may not set: core/run-env.ts; each dropped one is named through `warn`), then where the
 * backend is.
 */
export function childEnvironment(
  parent: Record<string, string | undefined>,
  runConfigEnv: Record<string, string>,
  backendEnv: Record<string, string>,
  warn: (line: string) => void = (line) => writeStderr(`${line}\n`),
): Record<string, string> {
  return flowRunProcessEnv(parent, runConfigEnv, backendEnv, warn);
}

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

/** A child started ahead of time (`execute flow-run --wait-for-id`) that waits for run ids. */
export interface WarmFlowRunProcess {
  pid: number;
  /** True once it printed the ready line: everything is loaded and connected. */
  readonly isReady: boolean;
  /** Resolves true when it is ready, false if it ended first. */
  ready: Promise<boolean>;
  /** Resolves when the process ends (while idle: it died, or `dismiss()`). */
  exited: FlowRunProcess["exited"];
  /** Runs it has been given. */
  readonly runs: number;
  /** Alive, stdin open, and no run in hand: it can be given another. */
  readonly canTakeRun: boolean;
  /**
   * Give it a run: the id goes to its stdin. By default stdin then closes and the handle is the
   * process (it exits after the run). With `more`, stdin stays open and the handle ends when the
   * child reports the run done — its exit code on the done line — or when the process ends.
   */
  assign(flowRunId: string, options?: { more?: boolean }): FlowRunProcess;
  /** No (further) run for it: close its stdin (it exits at once). */
  dismiss(): void;
  kill(signal: NodeJS.Signals): void;
}

type Outcome = Awaited<FlowRunProcess["exited"]>;

/** Output held back while its line is incomplete, at most (it may end in a done line)… */
const MAX_PENDING_LINE = 64 * 1024;
/** …of which this much is kept when the rest is passed on. */
const DONE_LINE_ROOM = 256;

/**
 * Start a warm child: like {@link spawnFlowRunProcess}, with its stdin a pipe for run ids and its
 * stdout read for the ready line ({@link readyLine}) and, after each run, the done line
 * (`doneLine <id> <code>`); what else it prints after the ready line is passed through with
 * `showOutput`, else dropped.
 */
export function spawnWarmFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  readyLine: string,
  options: { cwd?: string; showOutput?: boolean; doneLine?: string } = {},
): WarmFlowRunProcess {
  const proc = Bun.spawn([...command], { env, cwd: options.cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe", detached: true });
  const stderr = stderrTail(proc, options.showOutput);
  const donePrefix = options.doneLine === undefined ? undefined : `${options.doneLine} `;
  let isReady = false;
  let stdinOpen = true;
  let ended = false;
  let runs = 0;
  /** The run handed over with `more`, until the child says it is done. */
  let current: { id: string; settle: (outcome: Outcome) => void } | undefined;
  let settle: (ok: boolean) => void = () => {};
  const readySignal = new Promise<boolean>((resolve) => (settle = resolve));
  const output = (text: string) => {
    if (options.showOutput && text) writeStdout(text);
  };
  const onLine = (line: string) => {
    // The done line may follow output that did not end its line (a task that wrote "." last).
    const at = donePrefix ? line.indexOf(donePrefix) : -1;
    if (at < 0) return output(`${line}\n`);
    output(at > 0 ? `${line.slice(0, at)}\n` : "");
    const [id, code] = line.slice(at + donePrefix!.length).split(" ");
    if (current && id === current.id) {
      const run = current;
      current = undefined;
      run.settle({ code: Number(code), signal: null, stderrTail: "", runOnly: true });
    }
  };
  void (async () => {
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        if (isReady) output(text); // a last line without its newline
        return isReady;
      }
      text += decoder.decode(value, { stream: true });
      if (isReady && text.length > MAX_PENDING_LINE && text.indexOf("\n") < 0) {
        // A long stretch of output with no newline: pass it on, keeping a tail a done line may start in.
        output(text.slice(0, -DONE_LINE_ROOM));
        text = text.slice(-DONE_LINE_ROOM);
      }
      for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n")) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (isReady) onLine(line);
        else if (line === readyLine) {
          isReady = true;
          settle(true);
        } else {
          // Not the protocol: stop reading its stdout (it is dropped) and say it never became ready.
          void reader.cancel().catch(() => undefined);
          return false;
        }
      }
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
  const whole = flowRunProcess(proc, stderr);
  void whole.exited.then((outcome) => {
    ended = true;
    current?.settle(outcome); // it died holding a run: the run's handle ends as the process did
    current = undefined;
  });
  return {
    pid: proc.pid,
    get isReady() {
      return isReady;
    },
    get runs() {
      return runs;
    },
    get canTakeRun() {
      return stdinOpen && !ended && current === undefined;
    },
    ready: readySignal,
    exited: whole.exited,
    assign(flowRunId, assignOptions = {}) {
      if (!stdinOpen || current || ended) throw new Error("this warm child cannot take a run now");
      const more = assignOptions.more === true && donePrefix !== undefined;
      let handle: FlowRunProcess = whole;
      if (more) {
        let settleRun: (outcome: Outcome) => void = () => {};
        const runEnded = new Promise<Outcome>((resolve) => (settleRun = resolve));
        current = { id: flowRunId, settle: settleRun };
        handle = { pid: proc.pid, exited: runEnded, kill: whole.kill };
      }
      runs++;
      try {
        proc.stdin.write(`${flowRunId}\n`);
        void proc.stdin.flush();
      } catch (e) {
        current = undefined;
        closeStdin();
        throw e;
      }
      if (!more) closeStdin();
      return handle;
    },
    dismiss: closeStdin,
    kill: whole.kill,
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
