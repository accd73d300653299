import { newId } from "./ids.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import type { StateType } from "../core/state.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { serverState } from "./state-input.ts";
import { writeFlowRunState } from "./states.ts";
import type { ClaimRunsInput, ClaimedRun, RegisterAgentInput, RunsInQueueInput } from "./types.ts";
import { normalizeLabels, optionalString, requireString, requireTime, requireUuid } from "./validate.ts";

/** Prefect Server's cap on one `get_runs_in_queue` answer. */
export const QUEUED_RUNS_RETURNED_LIMIT = 25;

/**
 * Agents: registration, the queue of due runs they may take (their labels must include all of
 * a run's labels, so an agent with no labels takes only runs with none), and claiming.
 */
export function createAgentService(deps: ServiceDeps) {
  async function registerAgent(input: RegisterAgentInput): Promise<{ id: string }> {
    const type = requireString(input.type, "type");
    const name = optionalString(input.name, "name") ?? "agent";
    const labels = input.labels == null ? [] : normalizeLabels(input.labels);
    const coreVersion = optionalString(input.coreVersion, "core_version");
    const agentConfigId = input.agentConfigId == null ? null : requireUuid(input.agentConfigId, "agent_config_id");
    return await deps.store.transaction(async () => {
      if (agentConfigId !== null) {
        // As Server's foreign key: a config must exist to be linked to (and stays until this commits).
        await deps.store.lock.agentConfig(agentConfigId);
        if (!(await deps.store.agentConfigs.get(agentConfigId))) throw notFoundError(`Agent config ${agentConfigId} not found: create it first (create_agent_config)`);
      }
      // Race-free: agents of one identity registering at once share one id.
      const agent = await deps.store.agents.register({ id: newId(), name, type, labels, coreVersion, lastQueried: null, agentConfigId }, isoNow(deps));
      return { id: agent.id };
    });
  }

  function queueQuery(input: { labels?: string[] | null; before?: string | Date | null; limit?: number }) {
    const limit = input.limit ?? QUEUED_RUNS_RETURNED_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw validationError("limit must be a positive integer");
    return {
      labels: input.labels == null ? [] : normalizeLabels(input.labels),
      before: input.before == null ? isoNow(deps) : requireTime(input.before, "before"),
      limit,
    };
  }

  async function requireAgent(agentId: string) {
    const id = requireUuid(agentId, "agent_id");
    const agent = await deps.store.agents.get(id);
    if (!agent) throw notFoundError(`Agent ${id} not found: register it first`);
    return agent;
  }

  /** Ids of due runs these labels may take, oldest first. Reading does not take them. */
  async function getRunsInQueue(input: RunsInQueueInput): Promise<string[]> {
    const query = { ...queueQuery(input), runtime: input.runtime ?? undefined };
    if (input.agentId == null) return (await deps.store.flowRuns.queue(query)).map((r) => r.id);
    return await deps.store.transaction(async () => {
      const agent = await requireAgent(input.agentId!);
      await deps.store.agents.touch(agent.id, isoNow(deps));
      return (await deps.store.flowRuns.queue(query)).map((r) => r.id);
    });
  }

  /**
   * Select and take up to `limit` due runs waiting to start (Scheduled, Queued, Retrying — not
   * Running ones) in one transaction: each becomes Submitted
   * ("Submitted for execution") through a versioned write, so two agents never take the same run.
   */
  async function claimRuns(input: ClaimRunsInput): Promise<ClaimedRun[]> {
    return await deps.store.transaction(async () => {
      const agent = await requireAgent(input.agentId);
      // Only runs waiting to start: a Running run whose task sleeps through a retry is still held
      // by its process (taking it would run it twice); if that process died, Lazarus reschedules it.
      // prefectlite's agents execute TypeScript flows only: a Python flow's runs are left to Prefect's agent.
      const query = {
        ...queueQuery({ labels: input.labels ?? agent.labels, before: input.before, limit: input.limit }),
        includeRunning: false,
        claim: true,
        runtime: "typescript" as const,
      };
      const now = isoNow(deps);
      await deps.store.agents.touch(agent.id, now);
      // The due runs locked for this transaction (skipping those another claimer holds), so
      // concurrent claimers never collide: each run is then written Submitted, versioned.
      const claimed: ClaimedRun[] = [];
      for (const run of await deps.store.flowRuns.queue(query)) {
        const previousState: StateType = run.state;
        const version = await writeFlowRunState(deps, run, run.version, serverState("Submitted", "Submitted for execution", now), {
          agentId: agent.id,
        });
        const runConfig = await deps.store.flowRuns.runConfig(run.id);
        claimed.push({ id: run.id, flowId: run.flowId, version, previousState, scheduledStartTime: run.scheduledStartTime, runConfig });
      }
      return claimed;
    });
  }

  /** Forget an agent; the runs it took keep their history (with no agent). It registers again when it next starts. */
  async function deleteAgent(agentId: string): Promise<void> {
    const id = requireUuid(agentId, "agent_id");
    if (!(await deps.store.transaction(() => deps.store.agents.delete(id)))) throw notFoundError(`Agent ${id} not found`);
  }

  return { registerAgent, getRunsInQueue, claimRuns, deleteAgent };
}
