import type { TaskRunRecord, TaskRunRepository, TaskRunWriteView } from "../store.ts";
import { HISTORY_SELECT, createRunStateWriter, historyColumns, historyInsert, historyRows, historyValues, pushHistory } from "./run-states.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonValue, uuids } from "./values.ts";
import { FINAL_STATES_SQL } from "../final-states.ts";

interface TaskRunRow {
  id: string;
  flow_run_id: string;
  task_id: string;
  task_slug: string;
  map_index: number;
  version: number;
  state: string;
  serialized_state: unknown;
}

const COLUMNS = "id, flow_run_id, task_id, task_slug, map_index, version, state, serialized_state";

function record(r: TaskRunRow): TaskRunRecord {
  return {
    id: r.id,
    flowRunId: r.flow_run_id,
    taskId: r.task_id,
    taskSlug: r.task_slug,
    mapIndex: r.map_index,
    version: r.version,
    state: r.state as TaskRunRecord["state"],
    serializedState: jsonValue(r.serialized_state, { type: "Pending" }),
  };
}

export function createTaskRunRepository(db: Session): TaskRunRepository {
  const states = createRunStateWriter(db, "task_run");
  const many = async (text: string, values: unknown[]) => (await db.query<TaskRunRow>(text, values)).map(record);

  return {
    get: async (id) => (isUuid(id) ? (await many(`SELECT ${COLUMNS} FROM task_run WHERE id = $1`, [id]))[0] : undefined),
    async getForWrite(id) {
      if (!isUuid(id)) return undefined;
      const [row] = await db.query<TaskRunWriteView>(
        `SELECT id, flow_run_id AS "flowRunId", task_slug AS "taskSlug", version, state FROM task_run WHERE id = $1`,
        [id],
      );
      return row;
    },
    find: async (flowRunId, taskSlug, mapIndex) =>
      isUuid(flowRunId)
        ? (await many(`SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $1 AND task_slug = $2 AND map_index = $3`, [flowRunId, taskSlug, mapIndex]))[0]
        : undefined,
    async insertMissing(runs, now) {
      if (!runs.length) return 0;
      // One statement: the task runs that are new (ON CONFLICT skips the others, a duplicate
      // within the batch included) and the first history row of each of those only.
      const history = historyColumns();
      for (const run of runs) pushHistory(history, run.id, 1, run.initialState);
      const [row] = await db.query<{ inserted: number }>(
        `WITH inserted AS (
           INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, cache_key, version, state, state_timestamp, state_message,
             state_start_time, serialized_state, created, updated)
           SELECT u.id, u.flow_run_id, u.task_id, u.task_slug, u.map_index, u.cache_key, 1, u.state, u.ts, u.message, u.start, u.serialized::jsonb, $15, $15
           FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::int[],
             $10::uuid[], $11::uuid[], $12::text[], $13::int[], $14::text[])
             AS u(state_id, id, ts, state, message, result, start, serialized, version, flow_run_id, task_id, task_slug, map_index, cache_key)
           ON CONFLICT (flow_run_id, task_slug, map_index) DO NOTHING
           RETURNING id
         ), history AS (
           ${historyInsert("task_run")} ${HISTORY_SELECT} FROM ${historyRows(1)} JOIN inserted ON inserted.id = h.run_id
         )
         SELECT COUNT(*)::int AS inserted FROM inserted`,
        [
          ...historyValues(history),
          runs.map((r) => r.flowRunId),
          runs.map((r) => r.taskId),
          runs.map((r) => r.taskSlug),
          runs.map((r) => r.mapIndex),
          runs.map((r) => r.cacheKey ?? null),
          now,
        ],
      );
      return row?.inserted ?? 0;
    },
    range: async (flowRunId, taskSlug, from, to) =>
      isUuid(flowRunId)
        ? many(
            `SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $1 AND task_slug = $2 AND map_index >= $3 AND map_index < $4 ORDER BY map_index`,
            [flowRunId, taskSlug, from, to],
          )
        : [],
    ofFlowRun: async (flowRunId) =>
      isUuid(flowRunId) ? many(`SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $1 ORDER BY task_slug COLLATE "C", map_index`, [flowRunId]) : [],
    async clearTimes(ids) {
      const valid = uuids(ids);
      if (valid.length) await db.query("UPDATE task_run SET start_time = NULL, end_time = NULL, heartbeat = NULL WHERE id = ANY($1::uuid[])", [valid]);
    },
    unfinished: async (flowRunId) =>
      isUuid(flowRunId)
        ? many(`SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $1 AND (state IS NULL OR state NOT IN ${FINAL_STATES_SQL})`, [flowRunId])
        : [],
    writeState: (id, expectedVersion, write) => states.write(id, expectedVersion, write),
    writeStates: (id, expectedVersion, writes) => states.writeSeries(id, expectedVersion, writes),
    writtenState: (writeId) => states.written(writeId),
    async setHeartbeat(id, at) {
      if (!isUuid(id)) return false;
      return (await db.query("UPDATE task_run SET heartbeat = $2 WHERE id = $1", [id, at])).count > 0;
    },
    async setName(id, name, now) {
      if (!isUuid(id)) return false;
      return (await db.query("UPDATE task_run SET name = $2, updated = $3 WHERE id = $1", [id, name, now])).count > 0;
    },
    async mappedChildren(taskRunId) {
      if (!isUuid(taskRunId) || !(await db.query("SELECT 1 FROM task_run WHERE id = $1", [taskRunId])).length) return undefined;
      const rows = await db.query<{ min_start_time: Date | null; max_end_time: Date | null; state: string | null; n: string | number }>(
        `SELECT min(c.start_time) AS min_start_time, max(c.end_time) AS max_end_time, c.state AS state, count(*) AS n
       FROM task_run AS parent JOIN task_run AS c ON c.flow_run_id = parent.flow_run_id AND c.task_id = parent.task_id
       WHERE parent.id = $1 AND parent.map_index < 0 AND c.map_index >= 0
       GROUP BY c.state`,
        [taskRunId],
      );
      const starts = rows.map((r) => r.min_start_time).filter((t): t is Date => t !== null).map((t) => t.getTime());
      const ends = rows.map((r) => r.max_end_time).filter((t): t is Date => t !== null).map((t) => t.getTime());
      return {
        minStartTime: starts.length ? isoTime(new Date(Math.min(...starts))) : null,
        maxEndTime: ends.length ? isoTime(new Date(Math.max(...ends))) : null,
        stateCounts: Object.fromEntries(rows.map((r) => [r.state ?? "Pending", Number(r.n)])),
      };
    },
  };
}
