import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../core/errors.ts";
import { toJSONText } from "./json.ts";
import type { StateWrite } from "./records.ts";

export type RunTable = "flow_run" | "task_run";

/**
 * A versioned state write on a flow run or a task run: `UPDATE … WHERE id AND version`
 * (zero rows changed is a VersionConflict), then the history row. The caller holds the
 * transaction, so a refused write leaves nothing behind.
 */
export function createRunStateWriter(db: Database, table: RunTable) {
  const agentColumn = table === "flow_run" ? ", agent_id = COALESCE($agent_id, agent_id)" : "";
  const update = db.query(
    `UPDATE ${table} SET version = version + 1, state = $state, state_timestamp = $ts, state_message = $message,
       state_result = $result, state_start_time = $start, serialized_state = $serialized, updated = $ts,
       start_time = CASE WHEN $mark_started THEN COALESCE(start_time, $ts) ELSE start_time END,
       end_time = CASE WHEN $mark_ended THEN $ts ELSE end_time END,
       heartbeat = COALESCE($heartbeat, heartbeat)${agentColumn}
     WHERE id = $id AND version = $version`,
  );
  const history = db.query(
    `INSERT INTO ${table}_state (id, ${table}_id, timestamp, state, message, result, start_time, serialized_state, version, created)
     VALUES ($id, $run_id, $ts, $state, $message, $result, $start, $serialized, $version, $ts)`,
  );

  /** Write `w` over `expectedVersion`; returns the new version. */
  function write(runId: string, expectedVersion: number, w: StateWrite): number {
    const s = w.state;
    const serialized = JSON.stringify(s);
    const result = toJSONText(s.result);
    const params: Record<string, string | number | null> = {
      id: runId,
      version: expectedVersion,
      state: s.type,
      ts: s.timestamp,
      message: s.message ?? null,
      result,
      start: s.startTime ?? null,
      serialized,
      mark_started: w.markStarted ? 1 : 0,
      mark_ended: w.markEnded ? 1 : 0,
      heartbeat: w.heartbeat,
    };
    if (table === "flow_run") params.agent_id = w.agentId ?? null;
    const changed = update.run(params).changes;
    if (changed === 0) {
      throw new PrefectliteError(
        "VersionConflict",
        `State update refused for ${table.replace("_", " ")} ${runId}: it is no longer at version ${expectedVersion} (someone else changed it; read it again)`,
      );
    }
    insertHistory(runId, expectedVersion + 1, w, serialized, result);
    return expectedVersion + 1;
  }

  function insertHistory(runId: string, version: number, w: StateWrite, serialized = JSON.stringify(w.state), result = toJSONText(w.state.result)): void {
    const s = w.state;
    history.run({
      id: w.id,
      run_id: runId,
      ts: s.timestamp,
      state: s.type,
      message: s.message ?? null,
      result,
      start: s.startTime ?? null,
      serialized,
      version,
    });
  }

  return { write, insertHistory };
}
