import type { Queries } from "./lazy-queries.ts";
import type { MappedChildrenSummary, TaskRunRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { fromJSONText } from "./json.ts";
import type { NewTaskRun, StateWrite, TaskRunRecord, TaskRunWriteView } from "../records.ts";
import { createRunStateWriter } from "./run-states.ts";
import { FINAL_STATES_SQL } from "../final-states.ts";

interface TaskRunRow {
  id: string;
  flow_run_id: string;
  task_id: string;
  task_slug: string;
  map_index: number;
  version: number;
  state: string;
  serialized_state: string;
}

const COLUMNS = "id, flow_run_id, task_id, task_slug, map_index, version, state, serialized_state";

function record(r: TaskRunRow | null): TaskRunRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    flowRunId: r.flow_run_id,
    taskId: r.task_id,
    taskSlug: r.task_slug,
    mapIndex: r.map_index,
    version: r.version,
    state: r.state as TaskRunRecord["state"],
    serializedState: fromJSONText(r.serialized_state, { type: "Pending" }),
  };
}

interface MappedChildrenRow {
  min_start_time: string | null;
  max_end_time: string | null;
  state: string | null;
  n: number;
}

function summarize(rows: MappedChildrenRow[]): MappedChildrenSummary {
  const starts = rows.map((r) => r.min_start_time).filter((t): t is string => t !== null).sort();
  const ends = rows.map((r) => r.max_end_time).filter((t): t is string => t !== null).sort();
  return {
    minStartTime: starts[0] ?? null,
    maxEndTime: ends.at(-1) ?? null,
    stateCounts: Object.fromEntries(rows.map((r) => [r.state ?? "Pending", Number(r.n)])),
  };
}

export function createTaskRunRepository(db: Queries): Synchronous<TaskRunRepository> {
  const states = createRunStateWriter(db, "task_run");
  const q = {
    get: db.query<TaskRunRow, { id: string }>(`SELECT ${COLUMNS} FROM task_run WHERE id = $id`),
    getForWrite: db.query<TaskRunWriteView, { id: string }>(
      "SELECT id, flow_run_id AS flowRunId, task_slug AS taskSlug, version, state FROM task_run WHERE id = $id",
    ),
    find: db.query<TaskRunRow, { flow_run_id: string; task_slug: string; map_index: number }>(
      `SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $flow_run_id AND task_slug = $task_slug AND map_index = $map_index`,
    ),
    insert: db.query(
      `INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, cache_key, version, state, state_timestamp, state_message,
         state_start_time, serialized_state, created, updated)
       VALUES ($id, $flow_run_id, $task_id, $task_slug, $map_index, $cache_key, 1, $state, $ts, $message, $start, $serialized, $now, $now)
       ON CONFLICT (flow_run_id, task_slug, map_index) DO NOTHING`,
    ),
    range: db.query<TaskRunRow, { flow_run_id: string; task_slug: string; from: number; to: number }>(
      `SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $flow_run_id AND task_slug = $task_slug
         AND map_index >= $from AND map_index < $to ORDER BY map_index`,
    ),
    unfinished: db.query<TaskRunRow, { flow_run_id: string }>(
      `SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $flow_run_id AND (state IS NULL OR state NOT IN ${FINAL_STATES_SQL})`,
    ),
    heartbeat: db.query("UPDATE task_run SET heartbeat = $at WHERE id = $id"),
    ofFlowRun: db.query<TaskRunRow, { flow_run_id: string }>(
      `SELECT ${COLUMNS} FROM task_run WHERE flow_run_id = $flow_run_id ORDER BY task_slug, map_index`,
    ),
    clearTimes: db.query("UPDATE task_run SET start_time = NULL, end_time = NULL, heartbeat = NULL WHERE id = $id"),
    setName: db.query("UPDATE task_run SET name = $name, updated = $now WHERE id = $id"),
    exists: db.query<{ id: string }, { id: string }>("SELECT id FROM task_run WHERE id = $id"),
    mappedChildren: db.query<MappedChildrenRow, { id: string }>(
      `SELECT min(c.start_time) AS min_start_time, max(c.end_time) AS max_end_time, c.state AS state, count(*) AS n
       FROM task_run AS parent JOIN task_run AS c ON c.flow_run_id = parent.flow_run_id AND c.task_id = parent.task_id
       WHERE parent.id = $id AND parent.map_index < 0 AND c.map_index >= 0
       GROUP BY c.state`,
    ),
  };

  return {
    get: (id) => record(q.get.get({ id })),
    getForWrite: (id) => q.getForWrite.get({ id }) ?? undefined,
    find: (flowRunId, taskSlug, mapIndex) => record(q.find.get({ flow_run_id: flowRunId, task_slug: taskSlug, map_index: mapIndex })),
    insertMissing(runs, now) {
      let inserted = 0;
      for (const run of runs) {
        const s = run.initialState.state;
        const changes = q.insert.run({
          id: run.id,
          flow_run_id: run.flowRunId,
          task_id: run.taskId,
          task_slug: run.taskSlug,
          map_index: run.mapIndex,
          cache_key: run.cacheKey ?? null,
          state: s.type,
          ts: s.timestamp,
          message: s.message ?? null,
          start: s.startTime ?? null,
          serialized: JSON.stringify(s),
          now,
        }).changes;
        if (changes > 0) {
          states.insertHistory(run.id, 1, run.initialState);
          inserted++;
        }
      }
      return inserted;
    },
    range: (flowRunId, taskSlug, from, to) =>
      q.range.all({ flow_run_id: flowRunId, task_slug: taskSlug, from, to }).map((r) => record(r)!),
    ofFlowRun: (flowRunId) => q.ofFlowRun.all({ flow_run_id: flowRunId }).map((r) => record(r)!),
    clearTimes(ids) {
      for (const id of ids) q.clearTimes.run({ id });
    },
    unfinished: (flowRunId) => q.unfinished.all({ flow_run_id: flowRunId }).map((r) => record(r)!),
    writeState: (id, expectedVersion, write) => states.write(id, expectedVersion, write),
    writeStates: (id, expectedVersion, writes) => states.writeSeries(id, expectedVersion, writes),
    writtenState: (writeId) => states.written(writeId),
    setHeartbeat: (id, at) => q.heartbeat.run({ id, at }).changes > 0,
    setName: (id, name, now) => q.setName.run({ id, name, now }).changes > 0,
    mappedChildren(taskRunId) {
      if (!q.exists.get({ id: taskRunId })) return undefined;
      return summarize(q.mappedChildren.all({ id: taskRunId }));
    },
  };
}
