import { resolve } from "node:path";

/** True inside the compiled binary (its modules live in Bun's virtual file system). */
export function isCompiledBinary(): boolean {
  return import.meta.dir.startsWith("/$bunfs/") || Bun.main.startsWith("/$bunfs/");
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
 * The command that executes one backend flow run in a child process (agents and `run --execute`):
 * `prefectlite execute flow-run ID` — the binary itself when compiled, else this Bun re-running
 * prefectlite's entry. Never argv[0], never a shell. `printLogs` makes the child print its log
 * lines (`└── HH:MM:SS | LEVEL   | message`) to stdout.
 */
export function executeFlowRunCommand(flowRunId: string, options: { printLogs?: boolean } = {}): string[] {
  return prefectliteCommand(["execute", "flow-run", flowRunId, ...(options.printLogs ? ["--print-logs"] : [])]);
}

/** The line a warm child prints on stdout once it is ready to take a run id on stdin. */
export const WARM_CHILD_READY = "prefectlite-warm-child-ready";
/** What a warm child prints on stdout after each run: `prefectlite-warm-child-done <run id> <exit code>`. */
export const WARM_CHILD_DONE = "prefectlite-warm-child-done";

/**
 * The command of a warm child an agent starts ahead of time: `prefectlite execute flow-run
 * --wait-for-id`. It loads and connects, prints {@link WARM_CHILD_READY}, then executes each run
 * whose id it reads from stdin, printing {@link WARM_CHILD_DONE} after each, until stdin closes
 * (an agent closes it after one run unless it reuses its children). Undefined under a debugger (a child waiting for a debugger
 * to attach is no use waiting in a pool): the agent then starts each run's child when it runs.
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

function prefectliteCommand(args: string[], inspect = inspectFlags()): string[] {
  if (isCompiledBinary()) return [process.execPath, ...args];
  return [process.execPath, ...inspect, resolve(import.meta.dir, "../main.ts"), ...args];
}
