/**
 * The warm-child protocol, both sides. An agent starts children ahead of time
 * (`prefectlite execute flow-run --wait-for-id`) that load prefectlite and connect, then print
 * {@link WARM_CHILD_READY} on stdout and wait for run ids on stdin, a line each. After each run a
 * child prints `{@link WARM_CHILD_DONE} <run id> <exit code>`; it exits when stdin closes (an agent
 * closes it after one run unless it reuses its children), or after a run that left work behind
 * (cancelled, backend lost).
 */
import { flowRunProcess, stderrTail, type FlowRunProcess, type ProcessOutcome } from "./process.ts";
import { writeStdout } from "../stdio.ts";

/** The line a warm child prints on stdout once it is ready to take a run id on stdin. */
export const WARM_CHILD_READY = "prefectlite-warm-child-ready";
/** What a warm child prints on stdout after each run: `prefectlite-warm-child-done <run id> <exit code>`. */
export const WARM_CHILD_DONE = "prefectlite-warm-child-done";

/** What one run handed to a warm child came to. */
export interface WarmRunResult {
  /** The child's exit code for it. */
  code: number;
  /** The child must take no more runs (the run left work behind: cancelled, backend lost). */
  stop: boolean;
}

/**
 * The child's side: after `warmUp`, print the ready line, then execute each run id read from
 * stdin, printing the done line after each, until stdin closes, a signal arrives or a run says
 * stop. Returns the last run's exit code (0 if it had none), or the signal's once interrupted.
 */
export async function serveWarmRuns(child: {
  warmUp(): Promise<void>;
  execute(flowRunId: string): Promise<WarmRunResult>;
  /** Resolves when a signal arrived. */
  interrupted: Promise<unknown>;
  /** The exit code for the signal that arrived, else undefined. */
  signalCode(): number | undefined;
  print(line: string): void;
}): Promise<number> {
  await child.warmUp();
  child.print(WARM_CHILD_READY);
  const ids = stdinLines();
  let code = 0;
  for (;;) {
    const id = await Promise.race([ids.next(), child.interrupted.then(() => undefined)]);
    const signalled = child.signalCode();
    if (signalled !== undefined) return signalled;
    if (id === undefined) return code;
    if (!id) continue;
    const result = await child.execute(id);
    code = result.code;
    const after = child.signalCode();
    if (after !== undefined) return after;
    child.print(`${WARM_CHILD_DONE} ${id} ${code}`);
    if (result.stop) return code;
  }
}

/** Lines of stdin (trimmed), one per `next()`; undefined once stdin has closed. */
function stdinLines(): { next(): Promise<string | undefined> } {
  const reader = Bun.stdin.stream().getReader();
  const decoder = new TextDecoder();
  let text = "";
  let closed = false;
  return {
    async next() {
      for (;;) {
        const newline = text.indexOf("\n");
        if (newline >= 0) {
          const line = text.slice(0, newline).trim();
          text = text.slice(newline + 1);
          return line;
        }
        if (closed) {
          const rest = text.trim();
          text = "";
          return rest || undefined;
        }
        const { done, value } = await reader.read();
        if (value) text += decoder.decode(value, { stream: true });
        if (done) closed = true;
      }
    },
  };
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

type Outcome = ProcessOutcome;

/** Output held back while its line is incomplete, at most (it may end in a done line)… */
const MAX_PENDING_LINE = 64 * 1024;
/** …of which this much is kept when the rest is passed on. */
const DONE_LINE_ROOM = 256;

/**
 * Start a warm child (the parent's side of the protocol): like a cold child
 * (run-process/process.ts), with its stdin a pipe for run ids and its stdout read for the ready
 * line and, after each run, the done line (`<done line> <id> <code>`); what else it prints after
 * the ready line is passed through with `showOutput`, else dropped. The lines default to
 * {@link WARM_CHILD_READY} and {@link WARM_CHILD_DONE}.
 */
export function spawnWarmFlowRunProcess(
  command: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; showOutput?: boolean; readyLine?: string; doneLine?: string } = {},
): WarmFlowRunProcess {
  const proc = Bun.spawn([...command], { env, cwd: options.cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe", detached: true });
  const stderr = stderrTail(proc, options.showOutput);
  const readyLine = options.readyLine ?? WARM_CHILD_READY;
  const donePrefix = `${options.doneLine ?? WARM_CHILD_DONE} `;
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
    const at = line.indexOf(donePrefix);
    if (at < 0) return output(`${line}\n`);
    output(at > 0 ? `${line.slice(0, at)}\n` : "");
    const [id, code] = line.slice(at + donePrefix.length).split(" ");
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
      const more = assignOptions.more === true;
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

