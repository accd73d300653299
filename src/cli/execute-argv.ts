import { PrefectliteError } from "../core/errors.ts";
import type { ExecuteFlowRunOptions } from "./commands/execute-flow-run.ts";
import { optionalString, parseLogLevelOption } from "./options.ts";

/**
 * `execute flow-run …` read without cac. Every run an agent or `run --execute` starts is such a
 * child, and building the whole command table (cac parses argv once per command it knows) was a
 * fifth of the child's start. Only the forms cac reads one plain way are taken here; anything else
 * (another flag, a repeated one, `--print-logs X`, which cac reads as the flag's value, a number
 * where cac would give a number, `--`) is left to the full CLI, so its errors stay as they are.
 * test/cli/execute-argv.test.ts holds the two readings to each other.
 */

/** The flags of `execute` (cli/main.ts), as cac names them in the options it passes. */
export const EXECUTE_BOOLEAN_FLAGS: Readonly<Record<string, string>> = { "--print-logs": "printLogs", "--wait-for-id": "waitForId" };
export const EXECUTE_VALUE_FLAGS: Readonly<Record<string, string>> = { "--log-level": "logLevel", "--api": "api" };

/** The command's positional arguments and options, as cac gives them to its action. */
export interface ExecuteArgv {
  what: string;
  /** "" when left out (as cac's optional argument reaches the action). */
  id: string;
  options: Record<string, unknown>;
}

/** `argv` (as process.argv) when it is `execute flow-run …` in a form read here, else undefined. */
export function quickExecuteArgv(argv: readonly string[]): ExecuteArgv | undefined {
  if (argv[2] !== "execute" || argv[3] !== "flow-run") return undefined;
  const options: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 4; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const key = EXECUTE_BOOLEAN_FLAGS[flag] ?? EXECUTE_VALUE_FLAGS[flag];
    if (key === undefined || key in options) return undefined;
    if (EXECUTE_BOOLEAN_FLAGS[flag]) {
      const next = argv[i + 1];
      if (eq >= 0 || (next !== undefined && !next.startsWith("-"))) return undefined;
      options[key] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    // cac turns a value that reads as a number into one (`--api 1e3` is 1000).
    if (!value || value.startsWith("-") || Number(value) * 0 === 0) return undefined;
    options[key] = value;
  }
  if (positional.length > 1) return undefined;
  return { what: "flow-run", id: positional[0] ?? "", options };
}

/** The checks and options of `execute` (its cac action and the quick path share them). */
export function executeFlowRunOptions({ what, id, options: o }: ExecuteArgv): ExecuteFlowRunOptions {
  if (what !== "flow-run") throw new PrefectliteError("Usage", `can only execute a flow-run (got '${what}')`);
  const waitForId = o.waitForId === true;
  if (!id && !waitForId) throw new PrefectliteError("Usage", "execute flow-run needs a flow run id");
  if (id && waitForId) throw new PrefectliteError("Usage", "give either a flow run id or --wait-for-id, not both");
  return { id, waitForId, apiUrl: optionalString(o.api), printLogs: o.printLogs === true, logLevel: parseLogLevelOption(o.logLevel) };
}

/** Run `execute flow-run` with what cac or {@link quickExecuteArgv} read. */
export async function executeFlowRunCommand(argv: ExecuteArgv): Promise<number> {
  const options = executeFlowRunOptions(argv);
  const { executeFlowRun } = await import("./commands/execute-flow-run.ts");
  return executeFlowRun(options);
}
