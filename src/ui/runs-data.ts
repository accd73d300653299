import { STATE_TYPES, type StateType } from "../core/state.ts";
import type { ReadModel, Row } from "../services/read-model.ts";

/** What the flow-runs list and a flow run's page read. */

export const PAGE_SIZE = 25;
export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
export type UiLogLevel = (typeof LOG_LEVELS)[number];
/** A run page shows at most this many log lines (the newest). */
export const MAX_LOG_LINES = 1000;

export interface RunFilters {
  /** A flow's version group: runs of every version. */
  flow?: string;
  state?: StateType;
  label?: string;
  /** ISO times (created ≥ from, created ≤ to). */
  from?: string;
  to?: string;
  page: number;
}

const nonEmpty = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

/** Read the filters from a query string; unknown or malformed values are ignored (and say so). */
export function parseRunFilters(query: Record<string, string | undefined>): { filters: RunFilters; problems: string[] } {
  const problems: string[] = [];
  const filters: RunFilters = { page: 1 };
  const flow = nonEmpty(query.flow);
  if (flow) filters.flow = flow;
  const state = nonEmpty(query.state);
  if (state) {
    if ((STATE_TYPES as readonly string[]).includes(state)) filters.state = state as StateType;
    else problems.push(`unknown state '${state}'`);
  }
  const label = nonEmpty(query.label);
  if (label) filters.label = label;
  for (const key of ["from", "to"] as const) {
    const raw = nonEmpty(query[key]);
    if (!raw) continue;
    const time = new Date(raw);
    if (Number.isNaN(time.getTime())) problems.push(`'${raw}' is not a time`);
    else filters[key] = time.toISOString();
  }
  const page = Number(query.page ?? "1");
  filters.page = Number.isInteger(page) && page >= 1 ? page : 1;
  return { filters, problems };
}

export function runsWhere(filters: RunFilters): Record<string, unknown> {
  const and: unknown[] = [];
  if (filters.flow) and.push({ flow: { version_group_id: { _eq: filters.flow } } });
  if (filters.state) and.push({ state: { _eq: filters.state } });
  if (filters.label) and.push({ labels: { _contains: [filters.label] } });
  if (filters.from) and.push({ created: { _gte: filters.from } });
  if (filters.to) and.push({ created: { _lte: filters.to } });
  return and.length ? { _and: and } : {};
}

export interface RunListItem {
  id: string;
  name: string;
  state: string;
  flowName: string;
  flowId: string;
  flowVersion: number;
  labels: unknown;
  created: string;
  startTime: string | null;
  endTime: string | null;
  scheduledStartTime: string | null;
}

export interface RunList {
  runs: RunListItem[];
  total: number;
  pages: number;
}

/** One page of runs, newest (created) first. */
export async function listRuns(reads: ReadModel, filters: RunFilters): Promise<RunList> {
  const where = runsWhere(filters);
  const total = await reads.count("flow_run", where);
  const rows = (await reads.select(
    "flow_run",
    { where, order_by: [{ created: "desc" }, { id: "desc" }], limit: PAGE_SIZE, offset: (filters.page - 1) * PAGE_SIZE },
    ["id", "name", "state", "flow_id", "labels", "created", "start_time", "end_time", "scheduled_start_time"],
  ));
  const flows = await reads.loadRelation("flow_run", "flow", [...new Set(rows.map((r) => r.flow_id))], undefined, ["id", "name", "version"]);
  return {
    total,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    runs: rows.map((r) => {
      const flow = flows.get(r.flow_id)?.[0];
      return {
        id: String(r.id),
        name: String(r.name ?? ""),
        state: String(r.state ?? ""),
        flowName: String(flow?.name ?? "?"),
        flowId: String(r.flow_id),
        flowVersion: Number(flow?.version ?? 0),
        labels: r.labels,
        created: String(r.created ?? ""),
        startTime: (r.start_time as string | null) ?? null,
        endTime: (r.end_time as string | null) ?? null,
        scheduledStartTime: (r.scheduled_start_time as string | null) ?? null,
      };
    }),
  };
}

/** The flows a runs list can be filtered by: one entry per version group (its newest version's name). */
export async function flowChoices(reads: ReadModel): Promise<Array<{ value: string; text: string }>> {
  const flows = await reads.select("flow", { order_by: [{ name: "asc" }, { version: "desc" }], limit: 10_000 }, ["name", "version_group_id", "project_id"]);
  const projects = new Map((await reads.select("project", { limit: 10_000 }, ["id", "name"])).map((p) => [p.id, String(p.name)]));
  const seen = new Set<unknown>();
  const out: Array<{ value: string; text: string }> = [];
  for (const f of flows) {
    if (seen.has(f.version_group_id)) continue;
    seen.add(f.version_group_id);
    out.push({ value: String(f.version_group_id), text: `${String(f.name)} (${projects.get(f.project_id) ?? "?"})` });
  }
  return out;
}

export function levelsFrom(level: UiLogLevel): UiLogLevel[] {
  return LOG_LEVELS.slice(LOG_LEVELS.indexOf(level));
}

export function parseLevel(value: string | undefined): UiLogLevel {
  const upper = (value ?? "").toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(upper) ? (upper as UiLogLevel) : "DEBUG";
}

export interface RunDetail {
  run: Row;
  flow: Row | null;
  project: Row | null;
  agent: Row | null;
  states: Row[];
  taskRuns: Row[];
  logs: Row[];
  logTotal: number;
}

/** A flow run's page: the run, its flow, states, task runs and (the newest MAX_LOG_LINES) logs at `level` or above. */
export async function runDetail(reads: ReadModel, runId: string, level: UiLogLevel): Promise<RunDetail | null> {
  const run = await reads.byPk("flow_run", runId);
  if (!run) return null;
  const flow = await reads.byPk("flow", String(run.flow_id), ["id", "name", "version", "project_id", "version_group_id"]);
  const project = flow ? (await reads.byPk("project", String(flow.project_id), ["id", "name"])) : null;
  const agent = typeof run.agent_id === "string" ? (await reads.byPk("agent", run.agent_id, ["id", "name", "labels"])) : null;
  const states = (await reads.select("flow_run_state", { where: { flow_run_id: { _eq: runId } }, order_by: [{ timestamp: "asc" }, { version: "asc" }], limit: 10_000 }, [
    "state",
    "message",
    "timestamp",
    "version",
  ]));
  const taskRuns = (await reads.select("task_run", { where: { flow_run_id: { _eq: runId } }, order_by: [{ task_slug: "asc" }, { map_index: "asc" }], limit: 10_000 }, [
    "id",
    "task_slug",
    "map_index",
    "state",
    "state_message",
    "start_time",
    "end_time",
    "serialized_state",
    "task_id",
  ]));
  const logWhere = { _and: [{ flow_run_id: { _eq: runId } }, { level: { _in: levelsFrom(level) } }] };
  const logTotal = await reads.count("log", logWhere);
  const logs = (await reads
    .select("log", { where: logWhere, order_by: { timestamp: "desc" }, limit: MAX_LOG_LINES }, ["timestamp", "level", "message", "name", "task_run_id"]))
    .reverse();
  return { run, flow, project, agent, states, taskRuns, logs, logTotal };
}
