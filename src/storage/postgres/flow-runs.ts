import type { FlowRunRecord, FlowRunRepository, NewFlowRun } from "../store.ts";
import { PAUSED_STATES_SQL, WAITING_STATES_SQL } from "../waiting-states.ts";
import { HISTORY_SELECT, createRunStateWriter, historyColumns, historyInsert, historyRows, historyValues, pushHistory } from "./run-states.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonText, jsonValue, uuids } from "./values.ts";

interface FlowRunRow {
  id: string;
  flow_id: string;
  name: string;
  labels: unknown;
  parameters: unknown;
  version: number;
  state: string;
  state_start_time: Date | null;
  serialized_state: unknown;
  scheduled_start_time: Date;
  auto_scheduled: boolean;
  idempotency_key: string | null;
  heartbeat: Date | null;
  start_time: Date | null;
  end_time: Date | null;
  agent_id: string | null;
}

const COLUMNS =
  "id, flow_id, name, labels, parameters, version, state, state_start_time, serialized_state, scheduled_start_time, auto_scheduled, idempotency_key, heartbeat, start_time, end_time, agent_id";
const FR_COLUMNS = COLUMNS.split(", ")
  .map((c) => `fr.${c}`)
  .join(", ");

function record(r: FlowRunRow): FlowRunRecord {
  return {
    id: r.id,
    flowId: r.flow_id,
    name: r.name,
    labels: jsonValue(r.labels, []),
    parameters: jsonValue(r.parameters, {}),
    version: r.version,
    state: r.state as FlowRunRecord["state"],
    stateStartTime: isoTime(r.state_start_time),
    serializedState: jsonValue(r.serialized_state, { type: "Pending" }),
    scheduledStartTime: isoTime(r.scheduled_start_time)!,
    autoScheduled: r.auto_scheduled,
    idempotencyKey: r.idempotency_key,
    heartbeat: isoTime(r.heartbeat),
    startTime: isoTime(r.start_time),
    endTime: isoTime(r.end_time),
    agentId: r.agent_id,
  };
}

const INSERT_RUN = `INSERT INTO flow_run (id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
    idempotency_key, version, state, state_timestamp, state_message, state_result, state_start_time, serialized_state, created, updated)
  VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, $9, $10, 1, $11, $12, $13, NULL, $14,
    $15::text::jsonb, $16, $16)`;

/** The run's values for INSERT_RUN, then its first history row's from `$17` on. */
function insertValues(run: NewFlowRun, now: string): unknown[] {
  const s = run.initialState.state;
  const history = historyColumns();
  const serialized = JSON.stringify(s);
  pushHistory(history, run.id, 1, run.initialState, serialized);
  return [
    run.id,
    run.flowId,
    run.name,
    JSON.stringify(run.parameters),
    JSON.stringify(run.context),
    JSON.stringify(run.labels),
    jsonText(run.runConfig),
    run.scheduledStartTime,
    run.autoScheduled,
    run.idempotencyKey,
    s.type,
    s.timestamp,
    s.message ?? null,
    s.startTime ?? null,
    serialized,
    now,
    ...historyValues(history),
  ];
}

/** The run and its first history row in one statement; `conflict` is an ON CONFLICT clause for the run. */
function insertStatement(conflict = ""): string {
  return `WITH run AS (${INSERT_RUN} ${conflict} RETURNING id),
    history AS (${historyInsert("flow_run")} ${HISTORY_SELECT} FROM ${historyRows(17)} WHERE EXISTS (SELECT 1 FROM run))
    SELECT id FROM run`;
}

const LABELS_FIT = "fr.labels <@ $2::text::jsonb";
/** $4: 'any', or the runtime (core/serialize.ts FlowRuntime) whose flows' runs are wanted: a Python flow's storage has `__version__`. */
const RUNTIME_FITS = `($4::text = 'any'
  OR COALESCE((SELECT f.storage->>'__version__' IS NOT NULL FROM flow f WHERE f.id = fr.flow_id), false) = ($4::text = 'python'))`;

// The claim's form reads the partial index flow_run_due (state_start_time, id) in order and
// stops at the limit; the Running branch (due task runs) cannot use it, so it is a second form.
export const CLAIM_QUEUE_SQL = `SELECT ${FR_COLUMNS} FROM flow_run fr
  WHERE fr.state IN ${WAITING_STATES_SQL} AND fr.state_start_time <= $1 AND ${LABELS_FIT} AND ${RUNTIME_FITS}
  ORDER BY fr.state_start_time, fr.id LIMIT $3`;

export function createFlowRunRepository(db: Session): FlowRunRepository {
  const states = createRunStateWriter(db, "flow_run");
  const many = async (text: string, values: unknown[]) => (await db.query<FlowRunRow>(text, values)).map(record);
  const byKey = async (flowId: string, key: string) =>
    isUuid(flowId) ? (await many(`SELECT ${COLUMNS} FROM flow_run WHERE flow_id = $1 AND idempotency_key = $2`, [flowId, key]))[0] : undefined;

  const QUEUE_ALL = `SELECT ${FR_COLUMNS} FROM flow_run fr
    WHERE ((fr.state IN ${WAITING_STATES_SQL} AND fr.state_start_time <= $1)
       OR (fr.state = 'Running' AND (EXISTS (SELECT 1 FROM task_run tr WHERE tr.state IN ${WAITING_STATES_SQL}
             AND tr.flow_run_id = fr.id AND tr.state_start_time <= $1)
           OR EXISTS (SELECT 1 FROM task_run tr WHERE tr.state IN ${PAUSED_STATES_SQL} AND tr.flow_run_id = fr.id AND tr.state_start_time <= $1))))
      AND ${LABELS_FIT} AND ${RUNTIME_FITS}
    ORDER BY fr.state_start_time, fr.id LIMIT $3`;
  const CLAIM = " FOR UPDATE OF fr SKIP LOCKED";

  return {
    get: async (id) => (isUuid(id) ? (await many(`SELECT ${COLUMNS} FROM flow_run WHERE id = $1`, [id]))[0] : undefined),
    findByIdempotencyKey: byKey,
    async insert(run, now) {
      await db.query(insertStatement(), insertValues(run, now));
    },
    async insertIfAbsent(run, now) {
      if (run.idempotencyKey === null) {
        await db.query(insertStatement(), insertValues(run, now));
        return { id: run.id, created: true };
      }
      const [inserted] = await db.query<{ id: string }>(
        insertStatement("ON CONFLICT (flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"),
        insertValues(run, now),
      );
      if (inserted) return { id: inserted.id, created: true };
      const existing = await byKey(run.flowId, run.idempotencyKey);
      return { id: existing!.id, created: false };
    },
    writeState: (id, expectedVersion, write) => states.write(id, expectedVersion, write),
    writtenState: (writeId) => states.written(writeId),
    async setHeartbeat(id, at) {
      if (!isUuid(id)) return false;
      return (await db.query("UPDATE flow_run SET heartbeat = $2 WHERE id = $1", [id, at])).count > 0;
    },
    async scheduledRunIds(flowId, autoScheduled) {
      if (!isUuid(flowId)) return [];
      const rows = await db.query<{ id: string }>(
        "SELECT id FROM flow_run WHERE flow_id = $1 AND auto_scheduled = $2 AND state = 'Scheduled'",
        [flowId, autoScheduled],
      );
      return rows.map((r) => r.id);
    },
    async delete(ids) {
      const valid = uuids(ids);
      if (valid.length) await db.query("DELETE FROM flow_run WHERE id = ANY($1::uuid[])", [valid]);
    },
    async prepareRestart(id, labels) {
      if (!isUuid(id)) return;
      await db.query(
        "UPDATE flow_run SET labels = $2::text::jsonb, agent_id = NULL, end_time = NULL, times_resurrected = 0 WHERE id = $1",
        [id, JSON.stringify(labels)],
      );
    },
    async someRunIds(flowId, limit) {
      if (!isUuid(flowId)) return [];
      return (await db.query<{ id: string }>("SELECT id FROM flow_run WHERE flow_id = $1 LIMIT $2", [flowId, limit])).map((r) => r.id);
    },
    queue: ({ before, labels, limit, includeRunning, claim, runtime }) => {
      const text = includeRunning === false ? CLAIM_QUEUE_SQL : QUEUE_ALL;
      // Outside a transaction a lock would end with its statement: claim means nothing there.
      const locked = claim === true && db.inTransaction() ? text + CLAIM : text;
      return many(locked, [before, JSON.stringify(labels), limit, runtime ?? "any"]);
    },
    async runConfig(id) {
      if (!isUuid(id)) return null;
      return (await db.query<{ run_config: unknown }>("SELECT run_config FROM flow_run WHERE id = $1", [id]))[0]?.run_config ?? null;
    },
    async setName(id, name, now) {
      if (!isUuid(id)) return false;
      return (await db.query("UPDATE flow_run SET name = $2, updated = $3 WHERE id = $1", [id, name, now])).count > 0;
    },
    async setLabels(id, labels, now) {
      if (!isUuid(id)) return false;
      return (await db.query("UPDATE flow_run SET labels = $2::text::jsonb, updated = $3 WHERE id = $1", [id, JSON.stringify(labels), now])).count > 0;
    },
  };
}
