import type { EdgeRecord, FlowGroupRecord, FlowGroupSettings, FlowRecord, FlowRepository, TaskRecord } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonText, jsonValue } from "./values.ts";
import { BoundedCache, deepFreeze } from "../flow-cache.ts";

interface FlowRow {
  id: string;
  name: string;
  version: number;
  version_group_id: string;
  flow_group_id: string;
  project_id: string;
  archived: boolean;
  core_version: string;
  serialized_hash: string;
  parameters: unknown;
  run_config: unknown;
  schedule: unknown;
  is_schedule_active: boolean;
  created: Date;
}

interface GroupRow {
  id: string;
  name: string;
  labels: unknown;
  schedule: unknown;
  settings: unknown;
  default_parameters: unknown;
  run_config: unknown;
}

const FLOW_COLUMNS =
  "id, name, version, version_group_id, flow_group_id, project_id, archived, core_version, serialized_hash, parameters, run_config, schedule, is_schedule_active, created";
const GROUP_COLUMNS = "id, name, labels, schedule, settings, default_parameters, run_config";
const TASK_COLUMNS = `id, flow_id AS "flowId", slug, name, cache_key AS "cacheKey"`;

function flowRecord(r: FlowRow | undefined): FlowRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    versionGroupId: r.version_group_id,
    flowGroupId: r.flow_group_id,
    projectId: r.project_id,
    archived: r.archived,
    coreVersion: r.core_version,
    serializedHash: r.serialized_hash,
    parameters: jsonValue(r.parameters, []),
    runConfig: jsonValue(r.run_config, null),
    schedule: jsonValue(r.schedule, null),
    isScheduleActive: r.is_schedule_active,
    created: isoTime(r.created)!,
  };
}

function groupRecord(r: GroupRow | undefined): FlowGroupRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    labels: jsonValue(r.labels, null),
    schedule: jsonValue(r.schedule, null),
    settings: jsonValue<FlowGroupSettings>(r.settings, {} as FlowGroupSettings),
    defaultParameters: jsonValue(r.default_parameters, {}),
    runConfig: jsonValue(r.run_config, null),
  };
}



export function createFlowRepository(db: Session): FlowRepository {
  const one = async (text: string, values: unknown[]) => flowRecord((await db.query<FlowRow>(text, values))[0]);
  const oneGroup = async (text: string, values: unknown[]) => groupRecord((await db.query<GroupRow>(text, values))[0]);

  // As on SQLite: what a flow id can never change is cached (a flow version is immutable once
  // registered and ids are never reused); its flags and schedule are read on every call, since
  // other processes (replicas) change them.
  const immutable = new BoundedCache<FlowRecord>(1000);
  const taskLists = new BoundedCache<readonly TaskRecord[]>(1000);

  async function get(id: string): Promise<FlowRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const cached = immutable.get(id);
    if (cached) {
      const [flags] = await db.query<{ archived: boolean; is_schedule_active: boolean; schedule: unknown }>(
        "SELECT archived, is_schedule_active, schedule FROM flow WHERE id = $1",
        [id],
      );
      if (!flags) {
        immutable.delete(id);
        return undefined;
      }
      return { ...cached, archived: flags.archived, isScheduleActive: flags.is_schedule_active, schedule: jsonValue(flags.schedule, null) };
    }
    const record = await one(`SELECT ${FLOW_COLUMNS} FROM flow WHERE id = $1`, [id]);
    if (!record) return undefined;
    immutable.set(id, deepFreeze({ ...record, schedule: null }));
    return record;
  }

  const insertGroupValues = (g: FlowGroupRecord, now: string) => [
    g.id,
    g.name,
    jsonText(g.labels),
    jsonText(g.schedule),
    JSON.stringify(g.settings),
    JSON.stringify(g.defaultParameters),
    jsonText(g.runConfig),
    now,
  ];
  const INSERT_GROUP = `INSERT INTO flow_group (id, name, labels, schedule, settings, default_parameters, run_config, created, updated)
    VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, $8)`;

  return {
    get,
    async serializedFlow(id) {
      if (!isUuid(id)) return undefined;
      const [row] = await db.query<{ serialized_flow: unknown }>("SELECT serialized_flow FROM flow WHERE id = $1", [id]);
      return row ? jsonValue(row.serialized_flow, null) : undefined;
    },
    async setSerializedFlow(id, serialized, now) {
      await db.query("UPDATE flow SET serialized_flow = $2::text::jsonb, updated = $3 WHERE id = $1", [id, JSON.stringify(serialized), now]);
    },
    latestByProjectAndName: async (projectId, name) =>
      isUuid(projectId)
        ? one(`SELECT ${FLOW_COLUMNS} FROM flow WHERE project_id = $1 AND name = $2 ORDER BY created DESC, version DESC LIMIT 1`, [projectId, name])
        : undefined,
    async newestUnarchived(by) {
      if ("flowGroupId" in by) {
        if (!isUuid(by.flowGroupId)) return undefined;
        return one(`SELECT ${FLOW_COLUMNS} FROM flow WHERE flow_group_id = $1 AND NOT archived ORDER BY version DESC LIMIT 1`, [by.flowGroupId]);
      }
      return one(`SELECT ${FLOW_COLUMNS} FROM flow WHERE version_group_id = $1 AND NOT archived ORDER BY version DESC LIMIT 1`, [by.versionGroupId]);
    },
    newest: async (flowGroupId) =>
      isUuid(flowGroupId) ? one(`SELECT ${FLOW_COLUMNS} FROM flow WHERE flow_group_id = $1 ORDER BY version DESC LIMIT 1`, [flowGroupId]) : undefined,
    async unarchivedIds(flowGroupId) {
      if (!isUuid(flowGroupId)) return [];
      return (await db.query<{ id: string }>("SELECT id FROM flow WHERE flow_group_id = $1 AND NOT archived", [flowGroupId])).map((r) => r.id);
    },
    async maxVersion(flowGroupId) {
      if (!isUuid(flowGroupId)) return 0;
      const [row] = await db.query<{ v: number | null }>("SELECT MAX(version) AS v FROM flow WHERE flow_group_id = $1", [flowGroupId]);
      return row?.v ?? 0;
    },
    async insert(f, now) {
      await db.query(
        `INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, archived, core_version, serialized_flow,
           serialized_hash, storage, run_config, parameters, schedule, is_schedule_active, description, created, updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11::text::jsonb, $12::text::jsonb, $13::text::jsonb,
           $14::text::jsonb, $15, $16, $17, $17)`,
        [
          f.id,
          f.name,
          f.version,
          f.versionGroupId,
          f.flowGroupId,
          f.projectId,
          f.archived,
          f.coreVersion,
          JSON.stringify(f.serializedFlow),
          f.serializedHash,
          jsonText(f.storage),
          jsonText(f.runConfig),
          JSON.stringify(f.parameters),
          jsonText(f.schedule),
          f.isScheduleActive,
          f.description,
          now,
        ],
      );
    },
    async insertTasks(tasks, now) {
      if (!tasks.length) return;
      for (const t of tasks) taskLists.delete(t.flowId);
      // One statement for the whole list. `position` keeps the order the tasks came in (SQLite
      // reads it from rowid), after any tasks the flow has already.
      await db.query(
        `INSERT INTO task (id, flow_id, position, name, slug, type, max_retries, retry_delay_ms, timeout_ms, trigger, mapped,
           is_root_task, is_terminal_task, is_reference_task, tags, description, auto_generated, cache_key, created)
         SELECT u.id, u.flow_id,
           COALESCE((SELECT MAX(t.position) + 1 FROM task t WHERE t.flow_id = u.flow_id), 0) + u.ord::int - 1,
           u.name, u.slug, u.type, u.max_retries, u.retry_delay_ms, u.timeout_ms, u.trigger, u.mapped,
           u.is_root_task, u.is_terminal_task, u.is_reference_task, u.tags::jsonb, u.description, u.auto_generated, u.cache_key, $15
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[],
           $10::boolean[], $11::boolean[], $12::boolean[], $13::boolean[], $14::text[], $16::text[], $17::boolean[], $18::text[])
           WITH ORDINALITY AS u(id, flow_id, name, slug, type, max_retries, retry_delay_ms, timeout_ms, trigger, mapped,
             is_root_task, is_terminal_task, is_reference_task, tags, description, auto_generated, cache_key, ord)`,
        [
          tasks.map((t) => t.id),
          tasks.map((t) => t.flowId),
          tasks.map((t) => t.name),
          tasks.map((t) => t.slug),
          tasks.map((t) => t.type),
          tasks.map((t) => t.maxRetries),
          tasks.map((t) => t.retryDelayMs),
          tasks.map((t) => t.timeoutMs),
          tasks.map((t) => t.trigger),
          tasks.map((t) => t.mapped),
          tasks.map((t) => t.isRootTask),
          tasks.map((t) => t.isTerminalTask),
          tasks.map((t) => t.isReferenceTask),
          tasks.map((t) => JSON.stringify(t.tags)),
          now,
          tasks.map((t) => t.description ?? null),
          tasks.map((t) => t.autoGenerated === true),
          tasks.map((t) => t.cacheKey ?? null),
        ],
      );
    },
    async refreshTaskGraphFlags(flowId, referenceSlugs) {
      await db.query(
        `UPDATE task SET
           is_root_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.downstream_task_id = task.id),
           is_terminal_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = task.id),
           is_reference_task = CASE WHEN jsonb_array_length($2::text::jsonb) > 0 THEN slug IN (SELECT jsonb_array_elements_text($2::text::jsonb))
             ELSE NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = task.id) END
         WHERE flow_id = $1`,
        [flowId, JSON.stringify(referenceSlugs)],
      );
    },
    async insertEdges(edges, now) {
      if (!edges.length) return;
      await db.query(
        `INSERT INTO edge (id, flow_id, upstream_task_id, downstream_task_id, key, mapped, created)
         SELECT u.id, u.flow_id, u.upstream, u.downstream, u.key, u.mapped, $7
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::boolean[]) AS u(id, flow_id, upstream, downstream, key, mapped)`,
        [
          edges.map((e) => e.id),
          edges.map((e) => e.flowId),
          edges.map((e) => e.upstreamTaskId),
          edges.map((e) => e.downstreamTaskId),
          edges.map((e) => e.key),
          edges.map((e) => e.mapped),
          now,
        ],
      );
    },
    async setArchived(id, archived, now) {
      if (isUuid(id)) await db.query("UPDATE flow SET archived = $2, updated = $3 WHERE id = $1", [id, archived, now]);
    },
    async setScheduleActive(id, active, now) {
      if (isUuid(id)) await db.query("UPDATE flow SET is_schedule_active = $2, updated = $3 WHERE id = $1", [id, active, now]);
    },
    async delete(id) {
      if (isUuid(id)) await db.query("DELETE FROM flow WHERE id = $1", [id]);
      immutable.delete(id);
      taskLists.delete(id);
    },
    async tasks(flowId) {
      const cached = taskLists.get(flowId);
      if (cached) return [...cached];
      if (!isUuid(flowId)) return [];
      const tasks = [...(await db.query<TaskRecord>(`SELECT ${TASK_COLUMNS} FROM task WHERE flow_id = $1 ORDER BY position, id`, [flowId]))];
      // Never changes once registered; an empty list may be a flow still being registered: not cached.
      if (tasks.length) taskLists.set(flowId, deepFreeze(tasks.map((t) => ({ ...t }))));
      return tasks;
    },
    async edges(flowId) {
      if (!isUuid(flowId)) return [];
      return [
        ...(await db.query<EdgeRecord>(
          `SELECT upstream_task_id AS "upstreamTaskId", downstream_task_id AS "downstreamTaskId", mapped FROM edge WHERE flow_id = $1`,
          [flowId],
        )),
      ];
    },
    async findTask(flowId, by) {
      if (!isUuid(flowId)) return undefined;
      if ("id" in by) {
        if (!isUuid(by.id)) return undefined;
        return (await db.query<TaskRecord>(`SELECT ${TASK_COLUMNS} FROM task WHERE flow_id = $1 AND id = $2`, [flowId, by.id]))[0];
      }
      return (await db.query<TaskRecord>(`SELECT ${TASK_COLUMNS} FROM task WHERE flow_id = $1 AND slug = $2`, [flowId, by.slug]))[0];
    },
    getGroup: async (id) => (isUuid(id) ? oneGroup(`SELECT ${GROUP_COLUMNS} FROM flow_group WHERE id = $1`, [id]) : undefined),
    getGroupByName: (name) => oneGroup(`SELECT ${GROUP_COLUMNS} FROM flow_group WHERE name = $1`, [name]),
    async insertGroup(g, now) {
      await db.query(INSERT_GROUP, insertGroupValues(g, now));
    },
    async insertGroupIfAbsent(g, now) {
      const inserted = await oneGroup(`${INSERT_GROUP} ON CONFLICT (name) DO NOTHING RETURNING ${GROUP_COLUMNS}`, insertGroupValues(g, now));
      return inserted ?? (await oneGroup(`SELECT ${GROUP_COLUMNS} FROM flow_group WHERE name = $1`, [g.name]))!;
    },
    async updateGroup(id, patch, now) {
      if (!isUuid(id)) return;
      const sets: string[] = [];
      const values: unknown[] = [id, now];
      const set = (column: string, value: string | null) => {
        values.push(value);
        sets.push(`${column} = $${values.length}::text::jsonb`);
      };
      if (patch.settings !== undefined) set("settings", JSON.stringify(patch.settings));
      if (patch.labels !== undefined) set("labels", jsonText(patch.labels));
      if (patch.defaultParameters !== undefined) set("default_parameters", JSON.stringify(patch.defaultParameters));
      if (patch.runConfig !== undefined) set("run_config", jsonText(patch.runConfig));
      if (patch.description !== undefined) {
        values.push(patch.description);
        sets.push(`description = $${values.length}`);
      }
      if (!sets.length) return;
      await db.query(`UPDATE flow_group SET ${sets.join(", ")}, updated = $2 WHERE id = $1`, values);
    },
    async setProject(id, projectId, now) {
      if (!isUuid(id) || !isUuid(projectId)) return false;
      // The cached record holds the old project: forget it (other processes do not read a flow's project from a cache).
      immutable.delete(id);
      return (await db.query("UPDATE flow SET project_id = $2, updated = $3 WHERE id = $1 RETURNING id", [id, projectId, now])).length > 0;
    },
    async idsInGroup(flowGroupId) {
      if (!isUuid(flowGroupId)) return [];
      return (await db.query<{ id: string }>("SELECT id FROM flow WHERE flow_group_id = $1 ORDER BY version", [flowGroupId])).map((r) => r.id);
    },
    async deleteGroup(id) {
      if (!isUuid(id)) return false;
      for (const flow of await db.query<{ id: string }>("SELECT id FROM flow WHERE flow_group_id = $1", [id])) {
        immutable.delete(flow.id);
        taskLists.delete(flow.id);
      }
      return (await db.query("DELETE FROM flow_group WHERE id = $1 RETURNING id", [id])).length > 0;
    },
  };
}
