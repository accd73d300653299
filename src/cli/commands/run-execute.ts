import { executeFlowRunCommand } from "../../backed/child-command.ts";
import { runApiFor } from "../../client/run-api.ts";
import { killWhenRunEndsElsewhere } from "../../client/run-end-watch.ts";
import type { BackendClient } from "../../client/client.ts";
import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import { Failed, isFinishedType, type StateType } from "../../core/state.ts";
import { flowRunProcessEnv } from "../../core/run-env.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { connect } from "../../runtime/connect.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { createRunAndPrintCard, type BackendRunOptions } from "./run-backend.ts";
import { writeStderr, writeStdout } from "../../stdio.ts";

/**
 * `prefectlite run --name FLOW | --id ID --execute`: create the run with an `agentless-run-<8 hex>`
 * label (no agent can take it), then execute it here in a child process (`execute flow-run`)
 * with the run config's environment, its log lines streaming to this terminal. A child that
 * dies before the run finished leaves the run Failed; Ctrl-C fails it too.
 */
export async function runExecute(o: BackendRunOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const label = `agentless-run-${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
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
  const data = await client.graphql<{ flow_run_by_pk: RunToExecute | null }>(
    `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version scheduled_start_time serialized_state run_config } }`,
    { id },
  );
  if (!data.flow_run_by_pk) throw new PrefectliteError("NotFound", `Flow run ${id} not found`);
  return data.flow_run_by_pk;
}

/** Execute run `id` in a child process and report how it ended (exit 0 only for Success). */
export async function executeInChild(client: BackendClient, id: string, apiUrl?: string): Promise<number> {
  const run = await readRun(client, id);
  if (run.state !== "Scheduled") {
    throw new PrefectliteError("Conflict", `Flow run is already in state ${run.state}! Cannot execute flow run unless it is in a 'Scheduled' state`);
  }
  const start = Date.parse(run.serialized_state?.startTime ?? run.scheduled_start_time ?? "");
  if (start > Date.now()) await Bun.sleep(start - Date.now());

  const url = apiUrl ?? settings.apiUrl();
  const backendEnv: Record<string, string> = { PREFECTLITE_HOME: settings.home(), ...(url ? { PREFECTLITE_API_URL: url } : {}) };
  const env = flowRunProcessEnv(process.env, run.run_config?.env, backendEnv, (line) => writeStderr(`Warning: ${line}\n`));

  writeStdout(`└── ${formatLogLine({ timestamp: Date.now(), level: "INFO", message: "Creating subprocess to execute flow run..." })}\n`);
  const child = Bun.spawn(executeFlowRunCommand(id, { printLogs: true }), { env, stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    child.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A child hung at import or in a loop outlives a run the safeguards failed: it is killed then.
  const stopWatching = killWhenRunEndsElsewhere(client, id, () => child.kill("SIGKILL"), {
    intervalMs: settings.agentPollSeconds() * 1000,
    onKilled: (state) =>
      writeStdout(`└── ${formatLogLine({ timestamp: Date.now(), level: "ERROR", message: `The flow run is ${state}, but its process was still alive: killed it` })}\n`),
  });
  let code: number;
  try {
    code = await child.exited;
  } finally {
    stopWatching();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  let final = await readRun(client, id);
  if (!isFinishedType(final.state)) {
    const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${code}`;
    const message = interrupted ? "Flow run received an interrupt signal." : `The flow run process ${how} before the run finished.`;
    await failRun(client, id, message);
    final = await readRun(client, id);
  }
  return reportFinal(final.state);
}

/** Mark the run Failed (versioned; re-read if it moved) with an ERROR log, printed here too. */
async function failRun(client: BackendClient, id: string, message: string): Promise<void> {
  const api = await runApiFor(client);
  writeStdout(`└── ${formatLogLine({ timestamp: Date.now(), level: "ERROR", message })}\n`);
  await api
    .writeLogs([{ flow_run_id: id, task_run_id: null, timestamp: new Date().toISOString(), name: "prefectlite.execute", level: "ERROR", message }])
    .catch(() => undefined);
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await readRun(client, id);
    if (isFinishedType(current.state)) return;
    try {
      await api.setFlowRunState(id, current.version, new Failed(message).toJSON());
      return;
    } catch (e) {
      if (attempt === 2) writeStderr(`Could not mark flow run ${id} Failed: ${errorMessage(e)}\n`);
    }
  }
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
