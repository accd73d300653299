import type { Queries } from "./lazy-queries.ts";
import type { FlowRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { fromJSONText, toJSONText } from "./json.ts";
import type { EdgeRecord, FlowGroupRecord, FlowGroupSettings, FlowRecord, NewEdge, NewFlow, NewTask, TaskRecord } from "../records.ts";
import { BoundedCache, deepFreeze } from "../flow-cache.ts";

interface FlowRow {
  id: string;
  name: string;
  version: number;
  version_group_id: string;
  flow_group_id: string;
  project_id: string;
  archived: number;
  core_version: string;
  serialized_hash: string;
  parameters: string;
  run_config: string | null;
  schedule: string | null;
  is_schedule_active: number;
  created: string;
}

interface GroupRow {
  id: string;
  name: string;
  labels: string | null;
  schedule: string | null;
  settings: string;
  default_parameters: string;
  run_config: string | null;
}

const FLOW_COLUMNS =
  "id, name, version, version_group_id, flow_group_id, project_id, archived, core_version, serialized_hash, parameters, run_config, schedule, is_schedule_active, created";
const GROUP_COLUMNS = "id, name, labels, schedule, settings, default_parameters, run_config";

function flowRecord(r: FlowRow | null): FlowRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    versionGroupId: r.version_group_id,
    flowGroupId: r.flow_group_id,
    projectId: r.project_id,
    archived: r.archived === 1,
    coreVersion: r.core_version,
    serializedHash: r.serialized_hash,
    parameters: fromJSONText(r.parameters, []),
    runConfig: fromJSONText(r.run_config, null),
    schedule: fromJSONText(r.schedule, null),
    isScheduleActive: r.is_schedule_active === 1,
    created: r.created,
  };
}

function groupRecord(r: GroupRow | null): FlowGroupRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    labels: fromJSONText(r.labels, null),
    schedule: fromJSONText(r.schedule, null),
    settings: fromJSONText<FlowGroupSettings>(r.settings, {} as FlowGroupSettings),
    defaultParameters: fromJSONText(r.default_parameters, {}),
    runConfig: fromJSONText(r.run_config, null),
  };
}



export function createFlowRepository(db: Queries): Synchronous<FlowRepository> {
  const q = {
    get: db.query<FlowRow, { id: string }>(`SELECT ${FLOW_COLUMNS} FROM flow WHERE id = $id`),
    serializedFlow: db.query<{ serialized_flow: string | null }, { id: string }>("SELECT serialized_flow FROM flow WHERE id = $id"),
    setSerializedFlow: db.query("UPDATE flow SET serialized_flow = $serialized, updated = $now WHERE id = $id"),
    mutable: db.query<{ archived: number; is_schedule_active: number; schedule: string | null }, { id: string }>(
      "SELECT archived, is_schedule_active, schedule FROM flow WHERE id = $id",
    ),
    latest: db.query<FlowRow, { project_id: string; name: string }>(
      `SELECT ${FLOW_COLUMNS} FROM flow WHERE project_id = $project_id AND name = $name ORDER BY created DESC, version DESC LIMIT 1`,
    ),
    newestUnarchivedByGroup: db.query<FlowRow, { id: string }>(
      `SELECT ${FLOW_COLUMNS} FROM flow WHERE flow_group_id = $id AND archived = 0 ORDER BY version DESC LIMIT 1`,
    ),
    newestUnarchivedByVersionGroup: db.query<FlowRow, { id: string }>(
      `SELECT ${FLOW_COLUMNS} FROM flow WHERE version_group_id = $id AND archived = 0 ORDER BY version DESC LIMIT 1`,
    ),
    newest: db.query<FlowRow, { id: string }>(
      `SELECT ${FLOW_COLUMNS} FROM flow WHERE flow_group_id = $id ORDER BY version DESC LIMIT 1`,
    ),
    unarchivedIds: db.query<{ id: string }, { id: string }>("SELECT id FROM flow WHERE flow_group_id = $id AND archived = 0"),
    maxVersion: db.query<{ v: number | null }, { id: string }>("SELECT MAX(version) AS v FROM flow WHERE flow_group_id = $id"),
    insert: db.query(
      `INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, archived, core_version, serialized_flow,
         serialized_hash, storage, run_config, parameters, schedule, is_schedule_active, description, created, updated)
       VALUES ($id, $name, $version, $version_group_id, $flow_group_id, $project_id, $archived, $core_version, $serialized_flow,
         $serialized_hash, $storage, $run_config, $parameters, $schedule, $is_schedule_active, $description, $now, $now)`,
    ),
    insertTask: db.query(
      `INSERT INTO task (id, flow_id, name, slug, type, max_retries, retry_delay_ms, timeout_ms, trigger, mapped,
         is_root_task, is_terminal_task, is_reference_task, tags, description, auto_generated, cache_key, created)
       VALUES ($id, $flow_id, $name, $slug, $type, $max_retries, $retry_delay_ms, $timeout_ms, $trigger, $mapped,
         $is_root_task, $is_terminal_task, $is_reference_task, $tags, $description, $auto_generated, $cache_key, $now)`,
    ),
    insertEdge: db.query(
      `INSERT INTO edge (id, flow_id, upstream_task_id, downstream_task_id, key, mapped, created)
       VALUES ($id, $flow_id, $upstream, $downstream, $key, $mapped, $now)`,
    ),
    refreshGraphFlags: db.query(
      `UPDATE task SET
         is_root_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.downstream_task_id = task.id),
         is_terminal_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = task.id),
         is_reference_task = CASE WHEN json_array_length($refs) > 0 THEN slug IN (SELECT value FROM json_each($refs))
           ELSE NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = task.id) END
       WHERE flow_id = $flow_id`,
    ),
    setArchived: db.query("UPDATE flow SET archived = $archived, updated = $now WHERE id = $id"),
    setScheduleActive: db.query("UPDATE flow SET is_schedule_active = $active, updated = $now WHERE id = $id"),
    delete: db.query("DELETE FROM flow WHERE id = $id"),
    tasks: db.query<TaskRecord, { flow_id: string }>(
      "SELECT id, flow_id AS flowId, slug, name, cache_key AS cacheKey FROM task WHERE flow_id = $flow_id ORDER BY rowid",
    ),
    edges: db.query<{ upstreamTaskId: string; downstreamTaskId: string; mapped: number }, { flow_id: string }>(
      "SELECT upstream_task_id AS upstreamTaskId, downstream_task_id AS downstreamTaskId, mapped FROM edge WHERE flow_id = $flow_id",
    ),
    taskById: db.query<TaskRecord, { flow_id: string; id: string }>(
      "SELECT id, flow_id AS flowId, slug, name, cache_key AS cacheKey FROM task WHERE flow_id = $flow_id AND id = $id",
    ),
    taskBySlug: db.query<TaskRecord, { flow_id: string; slug: string }>(
      "SELECT id, flow_id AS flowId, slug, name, cache_key AS cacheKey FROM task WHERE flow_id = $flow_id AND slug = $slug",
    ),
    getGroup: db.query<GroupRow, { id: string }>(`SELECT ${GROUP_COLUMNS} FROM flow_group WHERE id = $id`),
    getGroupByName: db.query<GroupRow, { name: string }>(`SELECT ${GROUP_COLUMNS} FROM flow_group WHERE name = $name`),
    insertGroup: db.query(
      `INSERT INTO flow_group (id, name, labels, schedule, settings, default_parameters, run_config, created, updated)
       VALUES ($id, $name, $labels, $schedule, $settings, $default_parameters, $run_config, $now, $now)`,
    ),
    setGroupSettings: db.query("UPDATE flow_group SET settings = $value, updated = $now WHERE id = $id"),
    setGroupLabels: db.query("UPDATE flow_group SET labels = $value, updated = $now WHERE id = $id"),
    setGroupDefaults: db.query("UPDATE flow_group SET default_parameters = $value, updated = $now WHERE id = $id"),
    setGroupRunConfig: db.query("UPDATE flow_group SET run_config = $value, updated = $now WHERE id = $id"),
    setGroupDescription: db.query("UPDATE flow_group SET description = $value, updated = $now WHERE id = $id"),
    setProject: db.query("UPDATE flow SET project_id = $project_id, updated = $now WHERE id = $id"),
    idsInGroup: db.query<{ id: string }, { id: string }>("SELECT id FROM flow WHERE flow_group_id = $id ORDER BY version"),
    deleteGroup: db.query("DELETE FROM flow_group WHERE id = $id"),
  };

  // What a flow id can never change (a flow version is immutable once registered: only its
  // `archived` and `is_schedule_active` flags move, and ids are never reused), cached so that
  // creating a run does not re-read and re-parse its parameters, run config and task list.
  // Several processes share the database file: the flags, and the schedule (NULL for most
  // flows; a stored one is honoured as stored), are read on every call.
  const immutable = new BoundedCache<FlowRecord>(1000);
  const taskLists = new BoundedCache<readonly TaskRecord[]>(1000);

  function get(id: string): FlowRecord | undefined {
    const cached = immutable.get(id);
    if (cached) {
      const flags = q.mutable.get({ id });
      if (!flags) {
        immutable.delete(id);
        return undefined;
      }
      return {
        ...cached,
        archived: flags.archived === 1,
        isScheduleActive: flags.is_schedule_active === 1,
        schedule: fromJSONText(flags.schedule, null),
      };
    }
    const record = flowRecord(q.get.get({ id }));
    if (!record) return undefined;
    // The parsed parameters and run config are shared with the cache, frozen; the flags and the
    // schedule are each caller's own.
    immutable.set(id, deepFreeze({ ...record, schedule: null }));
    return record;
  }

  function insertGroup(g: FlowGroupRecord, now: string): void {
    q.insertGroup.run({
      id: g.id,
      name: g.name,
      labels: toJSONText(g.labels),
      schedule: toJSONText(g.schedule),
      settings: JSON.stringify(g.settings),
      default_parameters: JSON.stringify(g.defaultParameters),
      run_config: toJSONText(g.runConfig),
      now,
    });
  }

  return {
    get,
    serializedFlow: (id) => {
      const row = q.serializedFlow.get({ id });
      return row ? fromJSONText(row.serialized_flow, null) : undefined;
    },
    setSerializedFlow: (id, serialized, now) => void q.setSerializedFlow.run({ id, serialized: JSON.stringify(serialized), now }),
    latestByProjectAndName: (projectId, name) => flowRecord(q.latest.get({ project_id: projectId, name })),
    newestUnarchived: (by) =>
      flowRecord(
        "flowGroupId" in by
          ? q.newestUnarchivedByGroup.get({ id: by.flowGroupId })
          : q.newestUnarchivedByVersionGroup.get({ id: by.versionGroupId }),
      ),
    newest: (flowGroupId) => flowRecord(q.newest.get({ id: flowGroupId })),
    unarchivedIds: (flowGroupId) => q.unarchivedIds.all({ id: flowGroupId }).map((r) => r.id),
    maxVersion: (flowGroupId) => q.maxVersion.get({ id: flowGroupId })?.v ?? 0,
    insert(f, now) {
      q.insert.run({
        id: f.id,
        name: f.name,
        version: f.version,
        version_group_id: f.versionGroupId,
        flow_group_id: f.flowGroupId,
        project_id: f.projectId,
        archived: f.archived ? 1 : 0,
        core_version: f.coreVersion,
        serialized_flow: JSON.stringify(f.serializedFlow),
        serialized_hash: f.serializedHash,
        storage: toJSONText(f.storage),
        run_config: toJSONText(f.runConfig),
        parameters: JSON.stringify(f.parameters),
        schedule: toJSONText(f.schedule),
        is_schedule_active: f.isScheduleActive ? 1 : 0,
        description: f.description,
        now,
      });
    },
    insertTasks(tasks, now) {
      for (const t of tasks) {
        taskLists.delete(t.flowId);
        q.insertTask.run({
          id: t.id,
          flow_id: t.flowId,
          name: t.name,
          slug: t.slug,
          type: t.type,
          max_retries: t.maxRetries,
          retry_delay_ms: t.retryDelayMs,
          timeout_ms: t.timeoutMs,
          trigger: t.trigger,
          mapped: t.mapped ? 1 : 0,
          is_root_task: t.isRootTask ? 1 : 0,
          is_terminal_task: t.isTerminalTask ? 1 : 0,
          is_reference_task: t.isReferenceTask ? 1 : 0,
          tags: JSON.stringify(t.tags),
          description: t.description ?? null,
          auto_generated: t.autoGenerated ? 1 : 0,
          cache_key: t.cacheKey ?? null,
          now,
        });
      }
    },
    insertEdges(edges, now) {
      for (const e of edges) {
        q.insertEdge.run({
          id: e.id,
          flow_id: e.flowId,
          upstream: e.upstreamTaskId,
          downstream: e.downstreamTaskId,
          key: e.key,
          mapped: e.mapped ? 1 : 0,
          now,
        });
      }
    },
    refreshTaskGraphFlags: (flowId, referenceSlugs) => void q.refreshGraphFlags.run({ flow_id: flowId, refs: JSON.stringify(referenceSlugs) }),
    setArchived: (id, archived, now) => void q.setArchived.run({ id, archived: archived ? 1 : 0, now }),
    setScheduleActive: (id, active, now) => void q.setScheduleActive.run({ id, active: active ? 1 : 0, now }),
    delete(id) {
      q.delete.run({ id });
      immutable.delete(id);
      taskLists.delete(id);
    },
    tasks(flowId) {
      const cached = taskLists.get(flowId);
      if (cached) return [...cached];
      const tasks = q.tasks.all({ flow_id: flowId });
      // A flow's tasks are inserted with it, in its registration transaction, and never change;
      // an empty list may be a flow still being registered in this transaction: not cached.
      if (tasks.length) taskLists.set(flowId, deepFreeze(tasks.map((t) => ({ ...t }))));
      return tasks;
    },
    edges: (flowId) => q.edges.all({ flow_id: flowId }).map((e) => ({ ...e, mapped: e.mapped === 1 })),
    findTask: (flowId, by) =>
      ("id" in by ? q.taskById.get({ flow_id: flowId, id: by.id }) : q.taskBySlug.get({ flow_id: flowId, slug: by.slug })) ??
      undefined,
    getGroup: (id) => groupRecord(q.getGroup.get({ id })),
    getGroupByName: (name) => groupRecord(q.getGroupByName.get({ name })),
    insertGroup: (g, now) => insertGroup(g, now),
    insertGroupIfAbsent(g, now) {
      // Under the write lock (writers are serial on SQLite): what is read here stays true until the insert.
      const existing = groupRecord(q.getGroupByName.get({ name: g.name }));
      if (existing) return existing;
      insertGroup(g, now);
      return g;
    },
    updateGroup(id, patch, now) {
      if (patch.settings !== undefined) q.setGroupSettings.run({ id, value: JSON.stringify(patch.settings), now });
      if (patch.labels !== undefined) q.setGroupLabels.run({ id, value: toJSONText(patch.labels), now });
      if (patch.defaultParameters !== undefined) {
        q.setGroupDefaults.run({ id, value: JSON.stringify(patch.defaultParameters), now });
      }
      if (patch.runConfig !== undefined) q.setGroupRunConfig.run({ id, value: toJSONText(patch.runConfig), now });
      if (patch.description !== undefined) q.setGroupDescription.run({ id, value: patch.description, now });
    },
    setProject(id, projectId, now) {
      // The cached record holds the old project: forget it (other processes do not read a flow's project from a cache).
      immutable.delete(id);
      return q.setProject.run({ id, project_id: projectId, now }).changes > 0;
    },
    idsInGroup: (flowGroupId) => q.idsInGroup.all({ id: flowGroupId }).map((r) => r.id),
    deleteGroup(id) {
      for (const flowId of q.idsInGroup.all({ id })) {
        immutable.delete(flowId.id);
        taskLists.delete(flowId.id);
      }
      return q.deleteGroup.run({ id }).changes > 0;
    },
  };
}
