import type { BackendClient } from "../../client/client.ts";
import { AGENTS } from "../../client/documents.ts";
import { uncoveredRunWarning, type AgentInfo } from "../../core/agent-diagnosis.ts";
import { errorMessage } from "../../core/errors.ts";
import { writeStderr } from "../../stdio.ts";

/**
 * SPEC §4: creating a run whose labels no registered agent covers says so at once. Printed to
 * stderr after the run's card (agentless `--execute` runs skip it: no agent is meant to take them).
 */
export async function warnIfNoAgentCovers(client: BackendClient, runLabels: readonly string[]): Promise<void> {
  try {
    const warning = uncoveredRunWarning(runLabels, await readAgents(client));
    if (warning) writeStderr(`${warning}\n`);
  } catch (e) {
    writeStderr(`Warning: could not check for an agent to take this run: ${errorMessage(e)}\n`);
  }
}

/** Every registered agent, with its labels and when it last polled. */
export async function readAgents(client: BackendClient): Promise<AgentInfo[]> {
  const data = await client.graphql<{ agent: Array<{ id: string; name: string; labels: string[] | null; last_queried: string | null }> }>(
    AGENTS,
  );
  return data.agent.map((a) => ({ id: a.id, name: a.name, labels: a.labels ?? [], lastQueried: a.last_queried }));
}
