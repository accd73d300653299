import { runBackedFlowRun } from "../../backed/flow-run-runner.ts";
import { parseLogLevel, type LogLevel, type LogRecord } from "../../core/logging.ts";
import type { State } from "../../core/state.ts";
import { clockTime, formatLogLine } from "../../engine/log-format.ts";
import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";

export interface ExecuteFlowRunOptions {
  id: string;
  apiUrl?: string;
  /** Print log lines and state changes to stdout (what `run --execute` shows). */
  printLogs: boolean;
  logLevel?: LogLevel;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * `prefectlite execute flow-run ID` (internal): the child process agents and `run --execute`
 * start. Executes the backend run (PREFECTLITE_API_URL, else the embedded database of
 * PREFECTLITE_HOME); on SIGINT/SIGTERM writes out what is buffered and exits, leaving the run
 * to the safeguards. Exit 0 when the run succeeded (or there was nothing to do), else 1.
 */
export async function executeFlowRun(o: ExecuteFlowRunOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  const interrupt = new AbortController();
  let received: string | undefined;
  const onSignal = (signal: string) => {
    received ??= signal;
    interrupt.abort();
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const outcome = await runBackedFlowRun(client, o.id, {
      signal: interrupt.signal,
      // --log-level, else the level the run was started with (the UI's Run form puts it in the run config's env).
      logLevel: o.logLevel ?? parseLogLevel(process.env.PREFECTLITE_LOG_LEVEL ?? ""),
      onLog: o.printLogs ? (r: LogRecord) => print(`└── ${formatLogLine(r)}`) : undefined,
      onFlowRunState: o.printLogs ? (s: State) => print(`└── ${clockTime(Date.now())} | INFO    | Entered state <${s.type}>: ${s.message}`) : undefined,
    });
    if (received) return SIGNAL_EXIT[received]!;
    if (outcome.status !== "finished" && outcome.status !== "failed" && outcome.status !== "cancelled") print(outcome.message);
    if (outcome.status === "already-finished" || outcome.status === "not-due") return EXIT.ok;
    return outcome.state === "Success" ? EXIT.ok : EXIT.runFailed;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    await client.close();
  }
}
