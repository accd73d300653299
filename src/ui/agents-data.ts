import { healthyWithinMs as liveWithinMs, isAgentLive } from "../core/agent-diagnosis.ts";
import type { ReadModel } from "../services/read-model.ts";
import { settings } from "../settings.ts";
import { labelsOf } from "./format.ts";

/** The agents as the UI shows them, their health, and whether any agent can take a run's labels. */

export type AgentHealth = "healthy" | "late" | "silent";

export interface AgentView {
  id: string;
  name: string;
  type: string;
  labels: string[];
  lastQueried: string | null;
  created: string | null;
  health: AgentHealth;
}

/**
 * An agent is healthy while it is live (core/agent-diagnosis.ts: it polled within a minute, or
 * three poll intervals when longer); late within 10 minutes; else silent.
 */
export const healthyWithinMs = () => liveWithinMs(settings.agentPollSeconds());
export const LATE_WITHIN_MS = 10 * 60_000;

export function agentHealth(lastQueried: string | null, now: Date): AgentHealth {
  if (!lastQueried) return "silent";
  if (isAgentLive(lastQueried, now, settings.agentPollSeconds())) return "healthy";
  return now.getTime() - Date.parse(lastQueried) <= LATE_WITHIN_MS ? "late" : "silent";
}

export async function listAgents(reads: ReadModel, now: Date): Promise<AgentView[]> {
  const rows = (await reads.select("agent", { order_by: [{ last_queried: "desc" }, { name: "asc" }], limit: 1000 }, [
    "id",
    "name",
    "type",
    "labels",
    "last_queried",
    "created",
  ]));
  return rows.map((r) => {
    const lastQueried = typeof r.last_queried === "string" ? r.last_queried : null;
    return {
      id: String(r.id),
      name: String(r.name ?? ""),
      type: String(r.type ?? ""),
      labels: labelsOf(r.labels),
      lastQueried,
      created: typeof r.created === "string" ? r.created : null,
      health: agentHealth(lastQueried, now),
    };
  });
}

export interface Coverage {
  /** Some registered agent's labels include all of the run's labels (SPEC §4 Agents). */
  covered: boolean;
  /** …and at least one of those polled recently. */
  healthy: boolean;
}

/** Which registered agents could take a run with these labels. */
export function coverageOf(agents: readonly AgentView[], runLabels: readonly string[]): Coverage {
  const able = agents.filter((a) => runLabels.every((l) => a.labels.includes(l)));
  return { covered: able.length > 0, healthy: able.some((a) => a.health === "healthy") };
}
