import type { Queries } from "./lazy-queries.ts";
import { PrefectliteError } from "../../core/errors.ts";
import { toJSONText } from "./json.ts";
import type { StateWrite } from "../records.ts";

export type RunTable = "flow_run" | "task_run";

/**
 * A versioned state write on a flow run or a task run: `UPDATE … WHERE id AND version`
 * (zero rows changed is a VersionConflict), then the history row. The caller holds the
 * transaction, so a refused write leaves nothing behind.
 */
export function createRunStateWriter(db: Queries, table: RunTable) {
  const agentColumn = table === "flow_run" ? ", agent_id = COALESCE($agent_id, agent_id)" : "";
  const update = db.query(
    `UPDATE ${table} SET version = $new_version, state = $state, state_timestamp = $ts, state_message = $message,
       state_result = $result, state_start_time = $start, serialized_state = $serialized, updated = $ts,
       start_time = COALESCE(start_time, $started_at), end_time = COALESCE($ended_at, end_time),
       heartbeat = COALESCE($heartbeat, heartbeat)${agentColumn}
     WHERE id = $id AND version = $version`,
  );
  const history = db.query(
    `INSERT INTO ${table}_state (id, ${table}_id, timestamp, state, message, result, start_time, serialized_state, version, created)
     VALUES ($id, $run_id, $ts, $state, $message, $result, $start, $serialized, $version, $ts)`,
  );

  const byWriteId = db.query<{ runId: string; version: number }, { id: string }>(
    `SELECT ${table}_id AS runId, version FROM ${table}_state WHERE id = $id`,
  );

  /**
   * The stored state write with this id (a history row's id is the id its writer made for the
   * write: the primary key is what makes a retried write land once), or undefined.
   */
  function written(writeId: string): { runId: string; version: number } | undefined {
    return byWriteId.get({ id: writeId }) ?? undefined;
  }

  /** Write `w` over `expectedVersion`; returns the new version. */
  function write(runId: string, expectedVersion: number, w: StateWrite): number {
    return writeSeries(runId, expectedVersion, [w]);
  }

  /**
   * Write states one after another over `expectedVersion` — each gets its history row and its
   * version — with one UPDATE of the run to where the last one leaves it (a task run going
   * Running → Success in one batch is updated once). Returns the new version.
   */
  function writeSeries(runId: string, expectedVersion: number, writes: readonly StateWrite[]): number {
    const last = writes[writes.length - 1];
    if (!last) return expectedVersion;
    const s = last.state;
    const serialized = JSON.stringify(s);
    const result = toJSONText(s.result);
    let startedAt: string | null = null;
    let endedAt: string | null = null;
    let heartbeat: string | null = null;
    let agentId: string | null = null;
    for (const w of writes) {
      if (w.markStarted && startedAt === null) startedAt = w.state.timestamp;
      if (w.markEnded) endedAt = w.state.timestamp;
      if (w.heartbeat !== null) heartbeat = w.heartbeat;
      if (w.agentId) agentId = w.agentId;
    }
    const params: Record<string, string | number | null> = {
      id: runId,
      version: expectedVersion,
      new_version: expectedVersion + writes.length,
      state: s.type,
      ts: s.timestamp,
      message: s.message ?? null,
      result,
      start: s.startTime ?? null,
      serialized,
      started_at: startedAt,
      ended_at: endedAt,
      heartbeat,
    };
    if (table === "flow_run") params.agent_id = agentId;
    const changed = update.run(params).changes;
    if (changed === 0) {
      throw new PrefectliteError(
        "VersionConflict",
        `State update refused for ${table.replace("_", " ")} ${runId}: it is no longer at version ${expectedVersion} (someone else changed it; read it again)`,
      );
    }
    writes.forEach((w, i) => {
      if (w === last) insertHistory(runId, expectedVersion + i + 1, w, serialized, result);
      else insertHistory(runId, expectedVersion + i + 1, w);
    });
    return expectedVersion + writes.length;
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

  return { write, writeSeries, insertHistory, written };
}
