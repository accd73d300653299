/**
 * Agentless execution of a child flow run (SPEC §2, "Tasks for composing flows"): when no live
 * agent can take a run, the parent's process starts `prefectlite execute flow-run ID` for it.
 */
import type { BackendClient } from "../client/client.ts";
import { AGENTLESS_RUN } from "../client/documents.ts";
import { agentCovers, isAgentLive } from "../core/agent-diagnosis.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/logging.ts";
import type { StateType } from "../core/state.ts";
import { claimRun } from "../run-process/backend.ts";
import { executeFlowRunCommand } from "../run-process/command.ts";
import { flowRunProcessEnv } from "../run-process/environment.ts";
import { executeInChildProcess } from "../run-process/execute-in-child.ts";
import { lastStderrLine } from "../run-process/process-ended.ts";
import { settings } from "../settings.ts";

interface RunInfo {
  id: string;
  name: string;
  state: StateType;
  version: number;
  labels: string[] | null;
  scheduled_start_time: string | null;
  run_config: { env?: Record<string, string> } | null;
}

interface AgentRow {
  name: string | null;
  labels: string[] | null;
  last_queried: string | null;
}

/** Runs this process started (or scheduled to start): never twice. */
const started = new Map<string, Promise<void>>();

/** Whether a live agent (core/agent-diagnosis.ts) carries every one of the run's labels. */
export function liveAgentCovers(agents: readonly AgentRow[], runLabels: readonly string[], now = Date.now()): boolean {
  const pollSeconds = settings.agentPollSeconds();
  return agents.some((a) => isAgentLive(a.last_queried, new Date(now), pollSeconds) && agentCovers(a.labels ?? [], runLabels));
}

/**
 * Make sure someone will execute the run: a run not yet started that no live agent can take is
 * executed here, in a child process (at its scheduled time when that is later). Returns whether
 * this call started (or scheduled) it.
 */
export async function ensureExecution(
  client: BackendClient,
  flowRunId: string,
  options: { apiUrl: string | undefined; logger: Logger },
): Promise<boolean> {
  if (started.has(flowRunId)) return false;
  const data = await client.graphql<{ flow_run_by_pk: RunInfo | null; agent: AgentRow[] }>(
    AGENTLESS_RUN,
    { id: flowRunId },
  );
  const run = data.flow_run_by_pk;
  if (!run || !(run.state === "Scheduled" || run.state === "Pending")) return false;
  const labels = run.labels ?? [];
  if (liveAgentCovers(data.agent, labels)) return false;
  if (started.has(flowRunId)) return false;

  const shown = labels.length ? `with labels ${JSON.stringify(labels)}` : "with no labels";
  const delay = Math.max(0, Date.parse(run.scheduled_start_time ?? "") - Date.now() || 0);
  options.logger.info(
    `No live agent can take flow run '${run.name}' (${shown}): executing it agentlessly in a child process` +
      (delay > 0 ? ` at ${new Date(Date.now() + delay).toISOString()}` : ""),
  );
  const env = childEnv(run.run_config?.env ?? {}, options.apiUrl, options.logger);
  const job = (delay > 0 ? Bun.sleep(delay) : Promise.resolve()).then(() => supervise(client, run, env, options.logger));
  started.set(flowRunId, job);
  return true;
}

function childEnv(runConfigEnv: Record<string, unknown>, apiUrl: string | undefined, logger: Logger): Record<string, string> {
  return flowRunProcessEnv(process.env, runConfigEnv, { home: settings.home(), apiUrl }, (line) => quietly(() => logger.warning(line)));
}

/**
 * Take the run the way an agent does — one versioned Scheduled → Submitted write — so an agent
 * that starts polling meanwhile can never execute it too. False when someone else has it.
 */
export async function claimForAgentlessExecution(client: BackendClient, run: Pick<RunInfo, "id">): Promise<boolean> {
  return claimRun(await client.backend(), run.id, "Submitted for agentless execution");
}

/** Claim the run and execute it in a child process (run-process/): a run its process left unfinished ends Failed. */
async function supervise(client: BackendClient, run: RunInfo, env: Record<string, string>, logger: Logger): Promise<void> {
  try {
    if (!(await claimForAgentlessExecution(client, run))) {
      quietly(() => logger.info(`Flow run '${run.name}' was taken by an agent meanwhile: not executing it here`));
      return;
    }
  } catch (e) {
    quietly(() => logger.warning(`Could not take flow run '${run.name}' for agentless execution: ${errorMessage(e)}`));
    return;
  }
  try {
    const { outcome, state } = await executeInChildProcess({
      backend: await client.backend(),
      flowRunId: run.id,
      command: executeFlowRunCommand(run.id),
      env,
      logger: "prefectlite.agentless",
      say: (line) => quietly(() => logger.warning(`Flow run '${run.name}': ${line}`)),
    });
    const tail = lastStderrLine(outcome);
    if (state === "Failed" && tail) quietly(() => logger.error(`The process executing flow run '${run.name}' agentlessly ended: ${tail}`));
  } catch (e) {
    const message = `The process executing flow run '${run.name}' agentlessly could not start: ${errorMessage(e)}`;
    quietly(() => logger.error(message));
    await (await client.backend())
      .endAbandonedRun(run.id, "Failed", message, "prefectlite.agentless")
      .catch((e2) => quietly(() => logger.warning(`Could not fail flow run '${run.name}': ${errorMessage(e2)}`)));
  }
}

/** The parent task may have ended by now: its logger's failures are not this process's concern. */
function quietly(log: () => void): void {
  try {
    log();
  } catch {
    // nowhere left to log to
  }
}
