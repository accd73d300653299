import type { Queries } from "./lazy-queries.ts";
import type { FlowRunRepository, QueueQuery } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { fromJSONText, toJSONText } from "./json.ts";
import type { FlowRunRecord, NewFlowRun, StateWrite } from "../records.ts";
import { createRunStateWriter } from "./run-states.ts";
import { PAUSED_STATES_SQL, WAITING_STATES_SQL } from "../waiting-states.ts";

/** A flow run's heartbeat. */
export const FLOW_RUN_HEARTBEAT_SQL = "UPDATE flow_run SET heartbeat = $at WHERE id = $id";
/** The state of one flow run, for the heartbeat thread's cancel watch (its own connection). */
export const FLOW_RUN_STATE_SQL = "SELECT state FROM flow_run WHERE id = $id";


interface FlowRunRow {
  id: string;
  flow_id: string;
  name: string;
  labels: string;
  parameters: string;
  version: number;
  state: string;
  state_start_time: string | null;
  serialized_state: string;
  scheduled_start_time: string;
  auto_scheduled: number;
  idempotency_key: string | null;
  heartbeat: string | null;
  start_time: string | null;
  end_time: string | null;
  agent_id: string | null;
}

const COLUMNS =
  "id, flow_id, name, labels, parameters, version, state, state_start_time, serialized_state, scheduled_start_time, auto_scheduled, idempotency_key, heartbeat, start_time, end_time, agent_id";

function record(r: FlowRunRow | null): FlowRunRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    flowId: r.flow_id,
    name: r.name,
    labels: fromJSONText(r.labels, []),
    parameters: fromJSONText(r.parameters, {}),
    version: r.version,
    state: r.state as FlowRunRecord["state"],
    stateStartTime: r.state_start_time,
    serializedState: fromJSONText(r.serialized_state, { type: "Pending" }),
    scheduledStartTime: r.scheduled_start_time,
    autoScheduled: r.auto_scheduled === 1,
    idempotencyKey: r.idempotency_key,
    heartbeat: r.heartbeat,
    startTime: r.start_time,
    endTime: r.end_time,
    agentId: r.agent_id,
  };
}


export function createFlowRunRepository(db: Queries): Synchronous<FlowRunRepository> {
  const states = createRunStateWriter(db, "flow_run");
  const q = {
    get: db.query<FlowRunRow, { id: string }>(`SELECT ${COLUMNS} FROM flow_run WHERE id = $id`),
    byKey: db.query<FlowRunRow, { flow_id: string; key: string }>(
      `SELECT ${COLUMNS} FROM flow_run WHERE flow_id = $flow_id AND idempotency_key = $key`,
    ),
    insert: db.query(
      `INSERT INTO flow_run (id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
         idempotency_key, version, state, state_timestamp, state_message, state_result, state_start_time, serialized_state,
         created, updated)
       VALUES ($id, $flow_id, $name, $parameters, $context, $labels, $run_config, $scheduled_start_time, $auto_scheduled,
         $idempotency_key, 1, $state, $state_timestamp, $state_message, NULL, $state_start_time, $serialized_state, $now, $now)`,
    ),
    heartbeat: db.query(FLOW_RUN_HEARTBEAT_SQL),
    scheduled: db.query<{ id: string }, { flow_id: string; auto: number }>(
      "SELECT id FROM flow_run WHERE flow_id = $flow_id AND auto_scheduled = $auto AND state = 'Scheduled'",
    ),
    delete: db.query("DELETE FROM flow_run WHERE id = $id"),
    setName: db.query("UPDATE flow_run SET name = $name, updated = $now WHERE id = $id"),
    setLabels: db.query("UPDATE flow_run SET labels = $labels, updated = $now WHERE id = $id"),
    prepareRestart: db.query(
      "UPDATE flow_run SET labels = $labels, agent_id = NULL, end_time = NULL, times_resurrected = 0 WHERE id = $id",
    ),
    someOfFlow: db.query<{ id: string }, { flow_id: string; limit: number }>("SELECT id FROM flow_run WHERE flow_id = $flow_id LIMIT $limit"),
    runConfig: db.query<{ run_config: string | null }, { id: string }>("SELECT run_config FROM flow_run WHERE id = $id"),
    queue: db.query<FlowRunRow, { before: string; labels: string; limit: number; running: number; runtime: string }>(
      `SELECT ${COLUMNS} FROM flow_run fr
       WHERE ((fr.state IN ${WAITING_STATES_SQL} AND fr.state_start_time <= $before)
          OR ($running = 1 AND fr.state = 'Running' AND (EXISTS (SELECT 1 FROM task_run tr WHERE tr.state IN ${WAITING_STATES_SQL}
                AND tr.flow_run_id = fr.id AND tr.state_start_time <= $before)
              OR EXISTS (SELECT 1 FROM task_run tr WHERE tr.state IN ${PAUSED_STATES_SQL} AND tr.flow_run_id = fr.id AND tr.state_start_time <= $before))))
         AND NOT EXISTS (SELECT 1 FROM json_each(fr.labels) l WHERE l.value NOT IN (SELECT value FROM json_each($labels)))
         AND ($runtime = 'any'
           OR COALESCE((SELECT json_type(f.storage, '$.__version__') = 'text' FROM flow f WHERE f.id = fr.flow_id), 0) = ($runtime = 'python'))
       ORDER BY fr.state_start_time, fr.id
       LIMIT $limit`,
    ),
  };

  function insert(run: NewFlowRun, now: string): void {
      const s = run.initialState.state;
      q.insert.run({
        id: run.id,
        flow_id: run.flowId,
        name: run.name,
        parameters: JSON.stringify(run.parameters),
        context: JSON.stringify(run.context),
        labels: JSON.stringify(run.labels),
        run_config: toJSONText(run.runConfig),
        scheduled_start_time: run.scheduledStartTime,
        auto_scheduled: run.autoScheduled ? 1 : 0,
        idempotency_key: run.idempotencyKey,
        state: s.type,
        state_timestamp: s.timestamp,
        state_message: s.message ?? null,
        state_start_time: s.startTime ?? null,
        serialized_state: JSON.stringify(s),
        now,
      });
      states.insertHistory(run.id, 1, run.initialState);
  }

  return {
    get: (id) => record(q.get.get({ id })),
    findByIdempotencyKey: (flowId, key) => record(q.byKey.get({ flow_id: flowId, key })),
    insert,
    insertIfAbsent(run, now) {
      // Under the write lock (writers are serial on SQLite): what is read here stays true until the insert.
      if (run.idempotencyKey !== null) {
        const existing = q.byKey.get({ flow_id: run.flowId, key: run.idempotencyKey });
        if (existing) return { id: existing.id, created: false };
      }
      insert(run, now);
      return { id: run.id, created: true };
    },
    writeState: (id, expectedVersion, write) => states.write(id, expectedVersion, write),
    writtenState: (writeId) => states.written(writeId),
    setHeartbeat: (id, at) => q.heartbeat.run({ id, at }).changes > 0,
    scheduledRunIds: (flowId, autoScheduled) =>
      q.scheduled.all({ flow_id: flowId, auto: autoScheduled ? 1 : 0 }).map((r) => r.id),
    delete(ids) {
      for (const id of ids) q.delete.run({ id });
    },
    prepareRestart: (id, labels) => void q.prepareRestart.run({ id, labels: JSON.stringify(labels) }),
    someRunIds: (flowId, limit) => q.someOfFlow.all({ flow_id: flowId, limit }).map((r) => r.id),
    queue: ({ before, labels, limit, includeRunning, runtime }) =>
      q.queue.all({ before, labels: JSON.stringify(labels), limit, running: includeRunning === false ? 0 : 1, runtime: runtime ?? "any" }).map((r) => record(r)!),
    runConfig: (id) => {
      const text = q.runConfig.get({ id })?.run_config;
      return text ? JSON.parse(text) : null;
    },
    setName: (id, name, now) => q.setName.run({ id, name, now }).changes > 0,
    setLabels: (id, labels, now) => q.setLabels.run({ id, labels: JSON.stringify(labels), now }).changes > 0,
  };
}
