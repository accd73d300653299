import type { BackendClient } from "../client/client.ts";
import type { StateType } from "../core/state.ts";

/** Where a run whose process is watched stands now. */
export interface RunStanding {
  state: StateType;
  version: number;
}

/** A log line of a run, written by whoever watches its process (an agent, `run --execute`). */
export interface RunLogLine {
  flowRunId: string;
  level: "INFO" | "WARNING" | "ERROR";
  message: string;
  /** The logger's name (the agent's name, `prefectlite.execute`…). */
  name: string;
}

/** The final states a run's process may be ended with from outside it. */
export type AbandonedRunState = "Failed" | "Cancelled";

/**
 * What the one who starts a flow run's process asks of the backend: implemented over the client
 * (GraphQL, HTTP or embedded) here, and over the services by serve's in-process agent.
 */
export interface RunProcessBackend {
  /** The state and version of each of these runs (a run missing from the map no longer exists). */
  runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>>;
  /**
   * Take the run for a process (Scheduled → Submitted, versioned), so that no agent can execute it
   * too; false when it is not Scheduled any more (someone else has it).
   */
  claimRun(flowRunId: string, message: string): Promise<boolean>;
  /**
   * End a run whose process is gone or was killed: the run and every task run it left unfinished
   * get `state`, saying `message` (a log line from `logger` too: ERROR, or WARNING when Cancelled). A run that has finished
   * is left as it is (`changed` false).
   */
  endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }>;
  writeLogs(lines: RunLogLine[]): Promise<void>;
}

/** The run changed since it was read (or its state no longer allows the write). */
export function isMoved(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "VersionConflict" || code === "Conflict";
}

/** {@link RunProcessBackend} through a client (`run --execute`, agentless sub-flows, `agent start`). */
export function clientRunProcessBackend(client: BackendClient): RunProcessBackend {
  const backend: RunProcessBackend = {
    async runStandings(flowRunIds) {
      if (flowRunIds.length === 0) return new Map();
      const data = await client.graphql<{ flow_run: Array<{ id: string; state: StateType; version: number }> }>(
        `query ($ids: [uuid!], $limit: Int) { flow_run(where: { id: { _in: $ids } }, limit: $limit) { id state version } }`,
        { ids: flowRunIds, limit: flowRunIds.length },
      );
      return new Map(data.flow_run.map((r) => [r.id, { state: r.state, version: r.version }]));
    },
    async claimRun(flowRunId, message) {
      const now = (await backend.runStandings([flowRunId])).get(flowRunId);
      if (!now || now.state !== "Scheduled") return false;
      try {
        await client.setFlowRunState(flowRunId, now.version, { type: "Submitted", message });
        return true;
      } catch (e) {
        if (isMoved(e)) return false;
        throw e;
      }
    },
    async endAbandonedRun(flowRunId, state, message, logger) {
      const data = await client.graphql<{ end_abandoned_flow_run: { state: StateType; changed: boolean } }>(
        `mutation ($input: end_abandoned_flow_run_input!) { end_abandoned_flow_run(input: $input) { state changed } }`,
        { input: { flow_run_id: flowRunId, state, message, logger } },
      );
      return data.end_abandoned_flow_run;
    },
    async writeLogs(lines) {
      if (lines.length === 0) return;
      await client.graphql(`mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { success } }`, {
        input: { logs: lines.map((l) => ({ flow_run_id: l.flowRunId, level: l.level, message: l.message, name: l.name })) },
      });
    },
  };
  return backend;
}
