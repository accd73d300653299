import { flowFileError, type FlowFileError } from "../services/flow-file-errors.ts";
import type { ReadModel, Row } from "../services/read-model.ts";
import { labelsOf } from "./format.ts";

/** What the flows page and a flow's page read: flows per project, versions, schedules, last runs. */

export interface RunSummary {
  id: string;
  name: string;
  state: string;
  created: string;
}

export interface ScheduleView {
  /** The flow group's schedule when set, else the flow's; null: no schedule. */
  clocks: string[];
  active: boolean;
  /** Where the schedule comes from. */
  source: "flow group" | "flow";
}

export interface FlowSummary {
  id: string;
  name: string;
  version: number;
  versions: number;
  projectId: string;
  schedule: ScheduleView | null;
  lastRuns: RunSummary[];
}

export interface ProjectFlows {
  id: string;
  name: string;
  description: string | null;
  flows: FlowSummary[];
}

const RUN_COLUMNS = ["id", "name", "state", "created", "flow_id"] as const;
export const LAST_RUNS = 10;

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** One line per clock: `cron 0 * * * *`, `every 10m`. */
export function describeClocks(schedule: unknown): string[] {
  const clocks = (schedule as { clocks?: unknown[] } | null)?.clocks;
  if (!Array.isArray(clocks)) return [];
  return clocks.map((c) => {
    const clock = c as { type?: string; cron?: string; intervalMs?: number; timezone?: string };
    if (clock.type === "CronClock") return `cron ${clock.cron}${clock.timezone ? ` (${clock.timezone})` : ""}`;
    if (clock.type === "IntervalClock") return `every ${describeInterval(Number(clock.intervalMs))}`;
    return String(clock.type ?? "unknown clock");
  });
}

function describeInterval(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "m"],
    [1000, "s"],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms} ms`;
}

export function scheduleOf(flow: Row, group: Row | undefined): ScheduleView | null {
  const own = group?.schedule ? group.schedule : flow.schedule;
  if (!own) return null;
  return { clocks: describeClocks(own), active: flow.is_schedule_active === true, source: group?.schedule ? "flow group" : "flow" };
}

/**
 * The last runs of each version group (all versions), newest last, in one relation load:
 * each version's newest LAST_RUNS, merged per group.
 */
export async function lastRunsByVersionGroup(reads: ReadModel, versionGroupIds: readonly string[]): Promise<Map<string, RunSummary[]>> {
  const out = new Map<string, RunSummary[]>();
  if (!versionGroupIds.length) return out;
  const versions = await reads.select("flow", { where: { version_group_id: { _in: versionGroupIds } }, limit: 10_000 }, ["id", "version_group_id"]);
  const groupOf = new Map(versions.map((v) => [v.id, String(v.version_group_id)]));
  const related = await reads.loadRelation("flow", "flow_runs", [...groupOf.keys()], { order_by: { created: "desc" }, limit: LAST_RUNS }, RUN_COLUMNS);
  for (const [flowId, runs] of related) {
    const group = groupOf.get(flowId)!;
    const list = out.get(group) ?? [];
    for (const r of runs) list.push({ id: String(r.id), name: str(r.name), state: str(r.state), created: str(r.created) });
    out.set(group, list);
  }
  for (const [group, list] of out) {
    list.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    out.set(group, list.slice(0, LAST_RUNS).reverse());
  }
  return out;
}

/** Every project with its live (unarchived) flows, by name; projects and flows sorted by name. */
export async function listProjectFlows(reads: ReadModel): Promise<ProjectFlows[]> {
  const projects = await reads.select("project", { order_by: { name: "asc" }, limit: 10_000 }, ["id", "name", "description"]);
  const flows = (await reads.select("flow", { where: { archived: { _eq: false } }, order_by: [{ name: "asc" }, { version: "desc" }], limit: 10_000 }, [
    "id",
    "name",
    "version",
    "project_id",
    "flow_group_id",
    "version_group_id",
    "schedule",
    "is_schedule_active",
  ]));
  const groupIds = [...new Set(flows.map((f) => String(f.flow_group_id)))];
  const groups = new Map(
    (await reads.select("flow_group", { where: { id: { _in: groupIds } }, limit: 10_000 }, ["id", "schedule"])).map((g) => [g.id, g]),
  );
  const versionGroupIds = [...new Set(flows.map((f) => String(f.version_group_id)))];
  const counts = new Map<string, number>();
  for (const v of (await reads.select("flow", { where: { version_group_id: { _in: versionGroupIds } }, limit: 10_000 }, ["version_group_id"]))) {
    const key = String(v.version_group_id);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lastRuns = await lastRunsByVersionGroup(reads, versionGroupIds);
  return projects.map((p) => ({
    id: String(p.id),
    name: str(p.name),
    description: typeof p.description === "string" ? p.description : null,
    flows: flows
      .filter((f) => f.project_id === p.id)
      .map((f) => ({
        id: String(f.id),
        name: str(f.name),
        version: Number(f.version),
        versions: counts.get(String(f.version_group_id)) ?? 1,
        projectId: String(f.project_id),
        schedule: scheduleOf(f, groups.get(f.flow_group_id)),
        lastRuns: lastRuns.get(String(f.version_group_id)) ?? [],
      })),
  }));
}

export interface ParameterView {
  name: string;
  default: unknown;
  required: boolean;
}

export interface FlowDetail {
  flow: Row;
  project: Row | null;
  group: Row | null;
  versions: Row[];
  parameters: ParameterView[];
  schedule: ScheduleView | null;
  settings: { heartbeat_enabled: boolean; lazarus_enabled: boolean; version_locking_enabled: boolean };
  labels: string[];
  tasks: Row[];
  recentRuns: Row[];
  runCount: number;
  /** The flow's file failed to load the last time serve's watcher read it (any version registered before stays live). */
  loadError: FlowFileError | undefined;
}

export function parametersOf(flow: Row): ParameterView[] {
  const list = Array.isArray(flow.parameters) ? flow.parameters : [];
  return list.map((p: { name?: unknown; default?: unknown; required?: unknown }) => ({
    name: String(p.name),
    default: p.default ?? null,
    required: p.required === true,
  }));
}

/** A flow's page: the flow (any version), its group's settings, its versions, tasks and recent runs. */
export async function flowDetail(reads: ReadModel, flowId: string, recent = 10): Promise<FlowDetail | null> {
  const flow = await reads.byPk("flow", flowId);
  if (!flow) return null;
  const group = await reads.byPk("flow_group", String(flow.flow_group_id));
  const project = await reads.byPk("project", String(flow.project_id), ["id", "name"]);
  const versions = (await reads.select("flow", { where: { version_group_id: { _eq: flow.version_group_id } }, order_by: { version: "desc" }, limit: 10_000 }, [
    "id",
    "version",
    "archived",
    "created",
    "serialized_hash",
  ]));
  const versionIds = versions.map((v) => v.id);
  const where = { flow_id: { _in: versionIds } };
  const recentRuns = (await reads.select("flow_run", { where, order_by: { created: "desc" }, limit: recent }, [
    "id",
    "name",
    "state",
    "created",
    "start_time",
    "end_time",
    "labels",
    "flow_id",
  ]));
  const settings = (group?.settings ?? {}) as Record<string, unknown>;
  const runConfig = (flow.run_config ?? {}) as { labels?: unknown };
  return {
    flow,
    project,
    group,
    versions,
    parameters: parametersOf(flow),
    schedule: scheduleOf(flow, group ?? undefined),
    settings: {
      heartbeat_enabled: settings.heartbeat_enabled !== false,
      lazarus_enabled: settings.lazarus_enabled !== false,
      version_locking_enabled: settings.version_locking_enabled === true,
    },
    labels: Array.isArray(group?.labels) ? labelsOf(group.labels) : labelsOf(runConfig.labels),
    tasks: await reads.select("task", { where: { flow_id: { _eq: flowId } }, limit: 10_000 }, ["slug", "name", "type", "mapped", "max_retries", "is_reference_task"]),
    recentRuns,
    runCount: await reads.count("flow_run", where),
    loadError: loadErrorOf(flow.storage),
  };
}

function loadErrorOf(storage: unknown): FlowFileError | undefined {
  const s = storage as { type?: unknown; path?: unknown } | null;
  return s?.type === "Local" && typeof s.path === "string" ? flowFileError(s.path) : undefined;
}
