import type { Backend } from "../client/backend.ts";

export type { AbandonedRunState, RunLogLine, RunStanding } from "../client/backend.ts";

/** The run changed since it was read (or its state no longer allows the write). */
export function isMoved(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "VersionConflict" || code === "Conflict";
}

/**
 * Take the run for a process (Scheduled → Submitted, versioned), so that no agent can execute it
 * too; false when it is not Scheduled any more (someone else has it).
 */
export async function claimRun(backend: Pick<Backend, "runStandings" | "setFlowRunState">, flowRunId: string, message: string): Promise<boolean> {
  const now = (await backend.runStandings([flowRunId])).get(flowRunId);
  if (!now || now.state !== "Scheduled") return false;
  try {
    await backend.setFlowRunState(flowRunId, now.version, { type: "Submitted", message });
    return true;
  } catch (e) {
    if (isMoved(e)) return false;
    throw e;
  }
}
