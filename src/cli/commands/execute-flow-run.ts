import { runBackedFlowRun, warmUpRunner } from "../../backed/flow-run-runner.ts";
import { installSdkResolver } from "../../loader/load.ts";
import { parseLogLevel, type LogLevel, type LogRecord } from "../../core/logging.ts";
import type { State } from "../../core/state.ts";
import { clockTime, formatLogLine } from "../../engine/log-format.ts";
import type { BackendClient } from "../../client/client.ts";
import { connect, connectThroughParent } from "../../runtime/connect.ts";
import { serveWarmRuns } from "../../run-process/warm-child.ts";
import { PrefectliteError } from "../../core/errors.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";

export interface ExecuteFlowRunOptions {
  /** The run to execute; absent with `waitForId`. */
  id?: string;
  /**
   * A warm child of an agent's pool (started with a run channel): load everything first, say it
   * is ready, then execute each run the agent sends until it says bye.
   */
  waitForId?: boolean;
  apiUrl?: string;
  /** Print log lines and state changes to stdout (what `run --execute` shows). */
  printLogs: boolean;
  logLevel?: LogLevel;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * `prefectlite execute flow-run ID` (internal): the child process agents and `run --execute`
 * start. Executes the backend run through the run channel of the process that started it
 * (client/channel-backend.ts), else (started by hand) on PREFECTLITE_API_URL or the embedded
 * database of PREFECTLITE_HOME; on SIGINT/SIGTERM writes out what is buffered and exits, leaving
 * the run to the safeguards. Exit 0 when the run succeeded (or there was nothing to do), else 1.
 *
 * `execute flow-run --wait-for-id` is the same child started ahead of time by an agent: it loads
 * everything, then speaks the warm-child protocol over the channel (run-process/warm-child.ts):
 * ready, runs, done after each, until the agent says bye (after one run unless it reuses its
 * children: PREFECTLITE_AGENT_RUNS_PER_PROCESS) or goes away. After a cancelled run the child
 * exits in any case: that run's tasks may still be running.
 */
export async function executeFlowRun(o: ExecuteFlowRunOptions): Promise<number> {
  const throughParent = connectThroughParent({ apiUrl: o.apiUrl });
  if (o.waitForId && !throughParent) throw new PrefectliteError("Usage", "--wait-for-id is for agents: it takes its runs over the channel of the process that starts it");
  const client: BackendClient = throughParent?.client ?? connect({ apiUrl: o.apiUrl });
  const interrupt = new AbortController();
  let received: string | undefined;
  const onSignal = (signal: string) => {
    received ??= signal;
    interrupt.abort();
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const print = (line: string) => writeStdout(`${line}\n`);
  /** Set after a cancelled run (its tasks may not have stopped and would run on): take no more runs. */
  let leftovers = false;
  const execute = async (id: string): Promise<number> => {
    const outcome = await runBackedFlowRun(client, id, {
      signal: interrupt.signal,
      // --log-level, else the level the run was started with (the UI's Run form puts it in the run config's env).
      logLevel: o.logLevel ?? parseLogLevel(process.env.PREFECTLITE_LOG_LEVEL ?? ""),
      onLog: o.printLogs ? (r: LogRecord) => print(`└── ${formatLogLine(r)}`) : undefined,
      onFlowRunState: o.printLogs ? (s: State) => print(`└── ${clockTime(Date.now())} | INFO    | Entered state <${s.type}>: ${s.message}`) : undefined,
    });
    if (received) return SIGNAL_EXIT[received]!;
    if (outcome.status === "cancelled" || outcome.status === "lost") leftovers = true;
    if (outcome.status !== "finished" && outcome.status !== "failed" && outcome.status !== "cancelled") print(outcome.message);
    if (outcome.status === "already-finished" || outcome.status === "not-due") return EXIT.ok;
    if (outcome.status === "lost") return EXIT.unreachable;
    return outcome.state === "Success" ? EXIT.ok : EXIT.runFailed;
  };
  try {
    if (!o.waitForId) {
      if (!o.id) throw new Error("execute flow-run needs a flow run id (or --wait-for-id)");
      const code = await execute(o.id);
      return received ? SIGNAL_EXIT[received]! : code;
    }
    return await serveWarmRuns({
      channel: throughParent!.channel,
      warmUp: () => warmUp(),
      execute: async (id) => ({ code: await execute(id), stop: leftovers }),
      interrupted: aborted(interrupt.signal),
      signalCode: () => (received ? SIGNAL_EXIT[received]! : undefined),
    });
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    await client.close();
  }
}

/**
 * What a warm child does before it says it is ready: install the resolver of
 * `import … from "prefectlite"` used when the flow is loaded, and warm the runner up.
 */
async function warmUp(): Promise<void> {
  installSdkResolver();
  await warmUpRunner();
}

function aborted(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });
}
