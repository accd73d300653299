import type { Subprocess } from "bun";

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
  const proc: Subprocess<"ignore", "inherit" | "ignore", "pipe"> = Bun.spawn([...command], {
    env,
    cwd: options.cwd,
    stdin: "ignore",
    stdout: options.showOutput ? "inherit" : "ignore",
    stderr: "pipe",
    detached: true,
  });
  const stderr = (async () => {
    let tail = "";
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (options.showOutput) process.stderr.write(text);
      tail = (tail + text).slice(-STDERR_TAIL_BYTES);
    }
    return tail;
  })().catch(() => "");
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
