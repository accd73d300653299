import { PrefectliteError } from "../../core/errors.ts";
import type { StateWrite } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid, jsonText } from "./values.ts";

export type RunTable = "flow_run" | "task_run";

/** The arrays of a history insert (`unnest`), one element per state write. */
export interface HistoryColumns {
  ids: string[];
  runIds: string[];
  versions: number[];
  timestamps: string[];
  states: string[];
  messages: (string | null)[];
  results: (string | null)[];
  starts: (string | null)[];
  serialized: string[];
}

export function historyColumns(): HistoryColumns {
  return { ids: [], runIds: [], versions: [], timestamps: [], states: [], messages: [], results: [], starts: [], serialized: [] };
}

export function pushHistory(into: HistoryColumns, runId: string, version: number, w: StateWrite, serialized = JSON.stringify(w.state)): void {
  const s = w.state;
  into.ids.push(w.id);
  into.runIds.push(runId);
  into.versions.push(version);
  into.timestamps.push(s.timestamp);
  into.states.push(s.type);
  into.messages.push(s.message ?? null);
  into.results.push(jsonText(s.result));
  into.starts.push(s.startTime ?? null);
  into.serialized.push(serialized);
}

export function historyValues(h: HistoryColumns): unknown[] {
  return [h.ids, h.runIds, h.timestamps, h.states, h.messages, h.results, h.starts, h.serialized, h.versions];
}

/**
 * `SELECT` rows for a history insert from the arrays of historyValues, whose parameters start at
 * `$first`; the rows are `h(id, run_id, ts, state, message, result, start, serialized, version)`.
 */
export function historyRows(first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `unnest(${p(0)}::uuid[], ${p(1)}::uuid[], ${p(2)}::timestamptz[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[],
    ${p(6)}::timestamptz[], ${p(7)}::text[], ${p(8)}::int[]) AS h(id, run_id, ts, state, message, result, start, serialized, version)`;
}

export function historyInsert(table: RunTable): string {
  return `INSERT INTO ${table}_state (id, ${table}_id, timestamp, state, message, result, start_time, serialized_state, version, created)`;
}

export const HISTORY_SELECT = "SELECT h.id, h.run_id, h.ts, h.state, h.message, h.result::jsonb, h.start, h.serialized::jsonb, h.version, h.ts";

/**
 * A versioned state write on a flow run or a task run: the same rule as SQLite's (`UPDATE …
 * WHERE id AND version`, zero rows is a VersionConflict), with the UPDATE and every history row
 * in one statement: the history insert reads the UPDATE's RETURNING, so a refused write inserts
 * nothing.
 */
export function createRunStateWriter(db: Session, table: RunTable) {
  const agentColumn = table === "flow_run" ? ", agent_id = COALESCE($22::uuid, agent_id)" : "";
  const writeSql = `WITH updated AS (
      UPDATE ${table} SET version = $3, state = $4, state_timestamp = $5, state_message = $6, state_result = $7::text::jsonb,
        state_start_time = $8, serialized_state = $9::text::jsonb, updated = $5,
        start_time = COALESCE(start_time, $10), end_time = COALESCE($11, end_time), heartbeat = COALESCE($12, heartbeat)${agentColumn}
      WHERE id = $1 AND version = $2
      RETURNING id
    )
    ${historyInsert(table)}
    ${HISTORY_SELECT} FROM ${historyRows(13)} WHERE EXISTS (SELECT 1 FROM updated)`;

  async function written(writeId: string): Promise<{ runId: string; version: number } | undefined> {
    if (!isUuid(writeId)) return undefined;
    const [row] = await db.query<{ runId: string; version: number }>(
      `SELECT ${table}_id AS "runId", version FROM ${table}_state WHERE id = $1`,
      [writeId],
    );
    return row;
  }

  function conflict(runId: string, expectedVersion: number): PrefectliteError {
    return new PrefectliteError(
      "VersionConflict",
      `State update refused for ${table.replace("_", " ")} ${runId}: it is no longer at version ${expectedVersion} (someone else changed it; read it again)`,
    );
  }

  /**
   * Write states one after another over `expectedVersion` (a history row and a version each)
   * with one UPDATE of the run to where the last leaves it. Returns the new version.
   */
  async function writeSeries(runId: string, expectedVersion: number, writes: readonly StateWrite[]): Promise<number> {
    const last = writes[writes.length - 1];
    if (!last) return expectedVersion;
    if (!isUuid(runId)) throw conflict(runId, expectedVersion);
    const s = last.state;
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
    const serialized = JSON.stringify(s);
    const history = historyColumns();
    writes.forEach((w, i) => pushHistory(history, runId, expectedVersion + i + 1, w, w === last ? serialized : undefined));
    const values: unknown[] = [
      runId,
      expectedVersion,
      expectedVersion + writes.length,
      s.type,
      s.timestamp,
      s.message ?? null,
      jsonText(s.result),
      s.startTime ?? null,
      serialized,
      startedAt,
      endedAt,
      heartbeat,
      ...historyValues(history),
    ];
    // The agent is a flow run's only (and its parameter comes last, so a task run's statement has none).
    if (table === "flow_run") values.push(agentId);
    const result = await db.query(writeSql, values);
    if (result.count === 0) throw conflict(runId, expectedVersion);
    return expectedVersion + writes.length;
  }

  return {
    write: (runId: string, expectedVersion: number, w: StateWrite) => writeSeries(runId, expectedVersion, [w]),
    writeSeries,
    written,
  };
}
