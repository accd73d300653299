import { validationError } from "./errors.ts";

/**
 * Which variables a run's environment (`run_config.env`) may set. A run config is data anyone
 * with API access writes; the variables below would make the flow-run process run code that is
 * not the flow's (or talk to another backend), so they are refused where a run config is
 * written and dropped, with a warning, where one becomes a process environment.
 *
 * Names match case-insensitively everywhere (Windows' environment is; on Linux and macOS a
 * lower-case twin has no legitimate use either).
 */

/** Exact names, upper case, with why each is refused. */
const REFUSED_NAMES: ReadonlyMap<string, string> = new Map([
  // Bun: BUN_OPTIONS prepends command-line flags (--preload, --require, --import, --eval…).
  ["BUN_OPTIONS", "it passes command-line flags to Bun (such as --preload)"],
  ["BUN_RUNTIME_TRANSPILER_CACHE_PATH", "Bun loads transpiled code from that folder"],
  ["BUN_BE_BUN", "it turns the prefectlite binary into the plain Bun command line"],
  ["BUN_TCC_OPTIONS", "it passes options to the C compiler of bun:ffi"],
  // Node (read by Bun's node compatibility and by any node a task starts).
  ["NODE_OPTIONS", "it passes command-line flags to Node (such as --require)"],
  ["NODE_PATH", "it changes where modules are loaded from"],
  ["NODE_REPL_EXTERNAL_MODULE", "Node loads that module in place of its REPL"],
  // glibc loads iconv modules from here.
  ["GCONV_PATH", "the C library loads conversion modules from that folder"],
  // Bash runs this file before any non-interactive script a task starts.
  ["BASH_ENV", "bash runs that file before every script"],
  // prefectlite's own: where the backend is, and the child's debugger. The runner sets these.
  ["PREFECTLITE_HOME", "the runner sets where the run's database and results are"],
  ["PREFECTLITE_API_URL", "the runner sets which server the run reports to"],
  ["PREFECTLITE_API_TOKEN", "the runner sets the token the run reports with"],
  ["PREFECTLITE_DATABASE_URL", "the runner sets which database the run reports to"],
  ["PREFECTLITE_EXECUTE_INSPECT", "it opens a debugger in the run's child processes"],
]);

/** Families, by prefix (upper case). */
const REFUSED_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  // BUN_INSPECT, BUN_INSPECT_CONNECT_TO (a debugger can evaluate code), BUN_INSPECT_PRELOAD, BUN_INSPECT_NOTIFY.
  ["BUN_INSPECT", "it opens Bun's debugger or preloads a module"],
  // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT…: the dynamic loader's.
  ["LD_", "the dynamic loader reads it (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT load libraries)"],
  // macOS: DYLD_INSERT_LIBRARIES, DYLD_LIBRARY_PATH…
  ["DYLD_", "the macOS dynamic loader reads it (DYLD_INSERT_LIBRARIES loads libraries)"],
  // Functions bash imports from the environment.
  ["BASH_FUNC_", "bash defines a shell function from it"],
];

/** Why a run's environment may not set `name`, or undefined when it may. */
export function refusedRunEnvReason(name: string): string | undefined {
  if (name === "" || name.includes("=") || name.includes("\0")) return "it is not a valid variable name";
  const upper = name.toUpperCase();
  const exact = REFUSED_NAMES.get(upper);
  if (exact) return exact;
  for (const [prefix, why] of REFUSED_PREFIXES) if (upper.startsWith(prefix)) return why;
  return undefined;
}

/**
 * Check a run config's `env` where it is written (registration, create_flow_run, the UI): an
 * object of text (numbers and booleans are kept as text), none of whose names is refused.
 * `field` names it in the error (`run_config.env`).
 */
export function checkRunConfigEnv(env: unknown, field: string): void {
  if (env === undefined || env === null) return;
  if (typeof env !== "object" || Array.isArray(env)) throw validationError(`${field} must be an object of variable names to text values`);
  const refused: string[] = [];
  for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
    const why = refusedRunEnvReason(name);
    if (why) refused.push(`${JSON.stringify(name)} (${why})`);
    else if (!(typeof value === "string" || typeof value === "number" || typeof value === "boolean")) {
      throw validationError(`${field}.${name} must be text, got ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`);
    } else if (typeof value === "string" && value.includes("\0")) {
      throw validationError(`${field}.${name} contains a NUL character`);
    }
  }
  if (refused.length) {
    throw validationError(
      `${field} may not set ${refused.join(", ")}: a run's environment cannot load code into the runtime or redirect where the run reports`,
    );
  }
}
