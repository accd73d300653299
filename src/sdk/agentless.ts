/**
 * Agentless execution of a child flow run (SPEC §2, "Tasks for composing flows"): when no live
 * agent can take a run, the parent's process starts `prefectlite execute flow-run ID` for it.
 */
import { resolve } from "node:path";
import type { BackendClient } from "../client/client.ts";
import { killWhenRunEndsElsewhere } from "../client/run-end-watch.ts";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/logging.ts";
import { flowRunProcessEnv } from "../core/run-env.ts";
import { isFinishedType, type StateType } from "../core/state.ts";
import { settings } from "../settings.ts";

/** An agent that has polled within this long counts as live. */
export const AGENT_LIVE_MS = 60_000;

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

/** Whether an agent that polled recently carries every one of the run's labels. */
export function liveAgentCovers(agents: readonly AgentRow[], runLabels: readonly string[], now = Date.now()): boolean {
  const liveSince = now - Math.max(AGENT_LIVE_MS, 3 * settings.agentPollSeconds() * 1000);
  return agents.some((a) => {
    const polled = a.last_queried ? Date.parse(a.last_queried) : Number.NaN;
    if (!(polled >= liveSince)) return false;
    const labels = new Set(a.labels ?? []);
    return runLabels.every((l) => labels.has(l));
  });
}

/** The command that executes one backend flow run: the binary itself when compiled, else Bun running prefectlite's entry. */
export function executeCommand(flowRunId: string): string[] {
  const compiled = import.meta.dir.startsWith("/$bunfs/") || Bun.main.startsWith("/$bunfs/");
  if (compiled) return [process.execPath, "execute", "flow-run", flowRunId];
  return [process.execPath, resolve(import.meta.dir, "../main.ts"), "execute", "flow-run", flowRunId];
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
    `query ($id: uuid!) {
      flow_run_by_pk(id: $id) { id name state version labels scheduled_start_time run_config }
      agent { name labels last_queried }
    }`,
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
  const backendEnv: Record<string, string> = { PREFECTLITE_HOME: settings.home(), ...(apiUrl ? { PREFECTLITE_API_URL: apiUrl } : {}) };
  return flowRunProcessEnv(process.env, runConfigEnv, backendEnv, (line) => quietly(() => logger.warning(line)));
}

/**
 * Take the run the way an agent does — one versioned Scheduled → Submitted write — so an agent
 * that starts polling meanwhile can never execute it too. False when someone else has it.
 */
export async function claimForAgentlessExecution(client: BackendClient, run: Pick<RunInfo, "id">): Promise<boolean> {
  const data = await client.graphql<{ flow_run_by_pk: { state: StateType; version: number } | null }>(
    `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version } }`,
    { id: run.id },
  );
  const now = data.flow_run_by_pk;
  if (!now || now.state !== "Scheduled") return false;
  try {
    await client.setFlowRunState(run.id, now.version, { type: "Submitted", message: "Submitted for agentless execution" });
    return true;
  } catch (e) {
    if (e instanceof PrefectliteError && (e.code === "VersionConflict" || e.code === "Conflict")) return false;
    throw e;
  }
}

/** Claim the run, run the child process; if it ends and the run is still unfinished, mark the run Failed. */
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
  let outcome: string;
  try {
    const proc = Bun.spawn(executeCommand(run.id), { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const stopWatching = killWhenRunEndsElsewhere(client, run.id, () => proc.kill("SIGKILL"), {
      intervalMs: settings.agentPollSeconds() * 1000,
      onKilled: (state) => quietly(() => logger.warning(`Flow run '${run.name}' is ${state}, but its process was still alive: killed it`)),
    });
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]).finally(stopWatching);
    const tail = stderr.trim().split("\n").at(-1) ?? "";
    outcome = `exited with ${proc.signalCode ?? `code ${code}`}${tail ? `: ${tail}` : ""}`;
  } catch (e) {
    outcome = `could not start: ${errorMessage(e)}`;
  }
  try {
    const data = await client.graphql<{ flow_run_by_pk: { state: StateType; version: number } | null }>(
      `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version } }`,
      { id: run.id },
    );
    const now = data.flow_run_by_pk;
    if (!now || isFinishedType(now.state)) return;
    const message = `The process executing flow run '${run.name}' agentlessly ${outcome}`;
    quietly(() => logger.error(message));
    await client.setFlowRunState(run.id, now.version, { type: "Failed", message });
  } catch (e) {
    quietly(() => logger.warning(`Could not check flow run '${run.name}' after its process ended: ${errorMessage(e)}`));
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
