import type { BackendClient } from "../../client/client.ts";
import { agentlessRunLabel } from "../../core/agentless-label.ts";
import { PrefectliteError } from "../../core/errors.ts";
import type { StateType } from "../../core/state.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { connect } from "../../runtime/connect.ts";
import { claimRun } from "../../run-process/backend.ts";
import { executeFlowRunCommand } from "../../run-process/command.ts";
import { flowRunProcessEnv } from "../../run-process/environment.ts";
import { executeInChildProcess } from "../../run-process/execute-in-child.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { createRunAndPrintCard, type BackendRunOptions } from "./run-backend.ts";
import { writeStderr, writeStdout } from "../../stdio.ts";

/**
 * `prefectlite run --name FLOW | --id ID --execute`: create the run with an `agentless-run-<8 hex>`
 * label (no agent can take it), then execute it here in a child process (`execute flow-run`)
 * with the run config's environment, its log lines streaming to this terminal, supervised the
 * way an agent supervises its children (run-process/). A child that dies before the run finished
 * leaves the run Failed, with its unfinished task runs; Ctrl-C fails it too.
 */
export async function runExecute(o: BackendRunOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const label = agentlessRunLabel(crypto.randomUUID().replaceAll("-", "").slice(0, 8));
    const created = await createRunAndPrintCard(client, o, [label]);
    writeStdout("Executing flow run...\n");
    return await executeInChild(client, created.id, o.apiUrl);
  } finally {
    await client.close();
  }
}

interface RunToExecute {
  state: StateType;
  version: number;
  scheduled_start_time: string | null;
  serialized_state: { startTime?: string | null } | null;
  run_config: { env?: Record<string, string> } | null;
}

async function readRun(client: BackendClient, id: string): Promise<RunToExecute> {
  const run = await (await client.backend()).readFlowRun(id);
  if (!run) throw new PrefectliteError("NotFound", `Flow run ${id} not found`);
  return run;
}

/** Execute run `id` in a child process and report how it ended (exit 0 only for Success). */
export async function executeInChild(client: BackendClient, id: string, apiUrl?: string): Promise<number> {
  const run = await readRun(client, id);
  if (run.state !== "Scheduled") {
    throw new PrefectliteError("Conflict", `Flow run is already in state ${run.state}! Cannot execute flow run unless it is in a 'Scheduled' state`);
  }
  const start = Date.parse(run.serialized_state?.startTime ?? run.scheduled_start_time ?? "");
  if (start > Date.now()) await Bun.sleep(start - Date.now());

  const backend = await client.backend();
  // Submitted, as an agent's claim makes it: no agent executes it too, and a child that never starts it is killed.
  if (!(await claimRun(backend, id, "Submitted for execution by run --execute"))) {
    throw new PrefectliteError("Conflict", "Flow run was taken by someone else meanwhile: not executing it here");
  }
  const location = { home: settings.home(), apiUrl: apiUrl ?? settings.apiUrl() };
  const env = flowRunProcessEnv(process.env, run.run_config?.env, location, (line) => writeStderr(`Warning: ${line}\n`));
  writeStdout(`└── ${formatLogLine({ timestamp: Date.now(), level: "INFO", message: "Creating subprocess to execute flow run..." })}\n`);
  const { state } = await executeInChildProcess({
    backend,
    flowRunId: id,
    command: executeFlowRunCommand(id, { printLogs: true }),
    env,
    showOutput: true,
    logger: "prefectlite.execute",
    say: (message) => writeStdout(`└── ${formatLogLine({ timestamp: Date.now(), level: "ERROR", message })}\n`),
    forwardSignals: true,
  });
  if (state === undefined) throw new PrefectliteError("NotFound", `Flow run ${id} not found`);
  return reportFinal(state);
}

function reportFinal(state: StateType): number {
  if (state === "Success") {
    writeStdout("Flow run succeeded!\n");
    return EXIT.ok;
  }
  if (state === "Failed" || state === "TimedOut" || state === "TriggerFailed") {
    writeStdout("Flow run failed!\n");
    return EXIT.runFailed;
  }
  writeStdout(state === "Cancelled" ? "Flow run was cancelled.\n" : `Flow run is in unexpected state: ${state}\n`);
  return EXIT.runFailed;
}
