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
  function registerAgent(input: RegisterAgentInput): { id: string } {
    const type = requireString(input.type, "type");
    const name = optionalString(input.name, "name") ?? "agent";
    const labels = input.labels == null ? [] : normalizeLabels(input.labels);
    const coreVersion = optionalString(input.coreVersion, "core_version");
    return deps.store.transaction(() => {
      const existing = deps.store.agents.findIdentity({ name, type, labels, coreVersion });
      if (existing) return { id: existing.id };
      const id = newId();
      deps.store.agents.insert({ id, name, type, labels, coreVersion, lastQueried: null }, isoNow(deps));
      return { id };
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

  function requireAgent(agentId: string) {
    const id = requireUuid(agentId, "agent_id");
    const agent = deps.store.agents.get(id);
    if (!agent) throw notFoundError(`Agent ${id} not found: register it first`);
    return agent;
  }

  /** Ids of due runs these labels may take, oldest first. Reading does not take them. */
  function getRunsInQueue(input: RunsInQueueInput): string[] {
    const query = queueQuery(input);
    if (input.agentId == null) return deps.store.flowRuns.queue(query).map((r) => r.id);
    return deps.store.transaction(() => {
      const agent = requireAgent(input.agentId!);
      deps.store.agents.touch(agent.id, isoNow(deps));
      return deps.store.flowRuns.queue(query).map((r) => r.id);
    });
  }

  /**
   * Select and take up to `limit` due runs waiting to start (Scheduled, Queued, Retrying — not
   * Running ones) in one transaction: each becomes Submitted
   * ("Submitted for execution") through a versioned write, so two agents never take the same run.
   */
  function claimRuns(input: ClaimRunsInput): ClaimedRun[] {
    return deps.store.transaction(() => {
      const agent = requireAgent(input.agentId);
      // Only runs waiting to start: a Running run whose task sleeps through a retry is still held
      // by its process (taking it would run it twice); if that process died, Lazarus reschedules it.
      const query = { ...queueQuery({ labels: input.labels ?? agent.labels, before: input.before, limit: input.limit }), includeRunning: false };
      const now = isoNow(deps);
      deps.store.agents.touch(agent.id, now);
      return deps.store.flowRuns.queue(query).map((run) => {
        const previousState: StateType = run.state;
        const version = writeFlowRunState(deps, run, run.version, serverState("Submitted", "Submitted for execution", now), {
          agentId: agent.id,
        });
        return { id: run.id, flowId: run.flowId, version, previousState, scheduledStartTime: run.scheduledStartTime };
      });
    });
  }

  return { registerAgent, getRunsInQueue, claimRuns };
}
