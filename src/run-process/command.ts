import { resolve } from "node:path";

/**
 * The command lines of prefectlite's own child processes: the binary itself when compiled, else
 * this Bun re-running prefectlite's entry — never argv[0], never a shell.
 */

/** True inside the compiled binary (its modules live in Bun's virtual file system). */
export function isCompiledBinary(): boolean {
  return import.meta.dir.startsWith("/$bunfs/") || Bun.main.startsWith("/$bunfs/");
}

/**
 * Bun's flags for a child in development (`bun src/main.ts …`), the same as the npm launcher's
 * (bin/prefectlite.js): the launcher's empty bunfig.toml, and no .env — a bunfig.toml (its
 * `preload` runs!) or .env in the current folder is then not obeyed, as in the compiled binary
 * (built with --no-compile-autoload-bunfig --no-compile-autoload-dotenv).
 */
export function bunIsolationFlags(): string[] {
  return [`--config=${resolve(import.meta.dir, "../../bin/bunfig.toml")}`, "--no-env-file"];
}

/**
 * Inspector flags for the child, so `debugger` statements in tasks stop there:
 * PREFECTLITE_EXECUTE_INSPECT=1 → `--inspect-wait` (the child waits for a debugger to attach),
 * or any Bun inspector flag as its value (`--inspect-brk=127.0.0.1:9230`). A parent started
 * with `bun --inspect… src/main.ts` passes `--inspect-wait` on (a new port: the parent holds its own).
 */
export function inspectFlags(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string[] {
  const asked = env.PREFECTLITE_EXECUTE_INSPECT;
  if (asked && asked !== "0") return [asked === "1" ? "--inspect-wait" : asked];
  return execArgv.some((a) => a.startsWith("--inspect")) ? ["--inspect-wait"] : [];
}

/**
 * The command that executes one backend flow run in a child process (agents, `run --execute`,
 * agentless sub-flows): `prefectlite execute flow-run ID`, with the debugger flags when asked.
 * `printLogs` makes the child print its log lines (`└── HH:MM:SS | LEVEL   | message`) to stdout.
 */
export function executeFlowRunCommand(flowRunId: string, options: { printLogs?: boolean } = {}): string[] {
  return prefectliteCommand(["execute", "flow-run", flowRunId, ...(options.printLogs ? ["--print-logs"] : [])]);
}

/**
 * The command of a warm child an agent starts ahead of time: `prefectlite execute flow-run
 * --wait-for-id` (run-process/warm-child.ts speaks its protocol). Undefined under a debugger (a
 * child waiting for a debugger to attach is no use waiting in a pool): the agent then starts each
 * run's child when it runs.
 */
export function warmFlowRunCommand(): string[] | undefined {
  if (!isCompiledBinary() && inspectFlags().length) return undefined;
  return prefectliteCommand(["execute", "flow-run", "--wait-for-id"]);
}

/**
 * The command that loads a flow file (or module) in a process of its own and prints its flows,
 * serialized, as one JSON line: `prefectlite inspect flow-file PATH --json` (`inspect module NAME`).
 * User code then never runs in the process that asked (serve's watcher, register).
 */
export function inspectFlowSourceCommand(source: { path: string } | { module: string }): string[] {
  const [what, value] = "path" in source ? ["flow-file", source.path] : ["module", source.module];
  return prefectliteCommand(["inspect", what, value, "--json"], []);
}

/** `prefectlite ARGS…` as a command line (the binary, or Bun with prefectlite's entry). */
export function prefectliteCommand(args: readonly string[], inspect = inspectFlags()): string[] {
  if (isCompiledBinary()) return [process.execPath, ...args];
  return [process.execPath, ...bunIsolationFlags(), ...inspect, resolve(import.meta.dir, "../main.ts"), ...args];
}
