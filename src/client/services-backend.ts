import type { SerializedState, StateType } from "../core/state.ts";
import type { Services, TaskRunInfo, TaskRunStateInput } from "../services/index.ts";
import type { ReadModel, Row } from "../services/read-model.ts";
import {
  claimedRun,
  type AbandonedRunState,
  type Backend,
  type BackendLocation,
  type ClaimedFlowRun,
  type CreateFlowInput,
  type FlowRow,
  type FlowRunDetails,
  type FlowRunInput,
  type ListFlowsOptions,
  type LogRow,
  type ProjectRow,
  type RunLogLine,
  type RunStanding,
  type RunWriteBatch,
  type TaskRunRow,
  type TaskRunStateWrite,
  type ThreadWatch,
  type ThreadWatchOptions,
} from "./backend.ts";
import { mappedChildrenInPages } from "./mapped-children.ts";

export interface ServicesBackendOptions {
  services: Services;
  reads: ReadModel;
  /** Runs a GraphQL document in this process (the API's schema over the same services and reads). */
  graphql<T>(document: string, variables: Record<string, unknown>): Promise<T>;
  /** Where a flow run's process finds this backend (PREFECTLITE_HOME, or the server on this database). */
  location: BackendLocation;
  /** The heartbeat thread on this database (none for an in-memory one). */
  watchFromThread?(flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined;
  /** Frees what this backend holds (the database it opened), once. */
  close?(): Promise<void> | void;
}

const PROJECT_COLUMNS = ["id", "name", "description", "created"];
const FLOW_LIST_COLUMNS = ["id", "name", "version", "archived", "version_group_id", "flow_group_id", "serialized_hash", "parameters", "created", "project_id"];
const FLOW_RUN_COLUMNS = ["id", "name", "version", "state", "serialized_state", "scheduled_start_time", "parameters", "context", "labels", "run_config", "flow_id"];
const FLOW_COLUMNS = ["id", "name", "serialized_hash", "storage", "run_config", "flow_group_id"];
const TASK_RUN_COLUMNS = ["id", "task_slug", "map_index", "version", "state", "serialized_state"];

/**
 * The backend in this process: the same services and read model the GraphQL resolvers call, the
 * same rows and errors, without a GraphQL document per call (GraphQL's parsing of variables and
 * building of results was about a third of a hello-world run). test/client/contract.test.ts
 * holds it to the HTTP backend's behaviour.
 */
/** The order the HTTP backend's documents ask for: both backends answer a run's task runs alike. */
const TASK_RUN_ORDER = [{ task_slug: "asc" }, { map_index: "asc" }];

export class ServicesBackend implements Backend {
  readonly baseUrl = undefined;
  private readonly services: Services;
  private readonly reads: ReadModel;
  private closed = false;

  constructor(private readonly options: ServicesBackendOptions) {
    this.services = options.services;
    this.reads = options.reads;
  }

  graphql<T = Record<string, unknown>>(document: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.options.graphql<T>(document, variables);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.options.close?.();
  }

  async findProject(name: string): Promise<ProjectRow | undefined> {
    const rows = await this.reads.select("project", { where: { name: { _eq: name } } }, PROJECT_COLUMNS);
    return rows[0] as unknown as ProjectRow | undefined;
  }

  async listProjects(): Promise<ProjectRow[]> {
    return (await this.reads.select("project", { order_by: { name: "asc" } }, PROJECT_COLUMNS)) as unknown as ProjectRow[];
  }

  async createProject(name: string, description?: string): Promise<{ id: string; created: boolean }> {
    const existing = await this.findProject(name);
    if (existing) return { id: existing.id, created: false };
    const created = await this.services.createProject({ name, description: description ?? null });
    return { id: created.id, created: true };
  }

  async latestFlow(name: string, projectName?: string): Promise<FlowRow | undefined> {
    const where: Record<string, unknown> = { name: { _eq: name } };
    if (projectName) where.project = { name: { _eq: projectName } };
    return (await this.flows({ where, order_by: { version: "desc" }, limit: 1 }))[0];
  }

  async listFlows(options: ListFlowsOptions = {}): Promise<FlowRow[]> {
    const where: Record<string, unknown> = {};
    if (!options.all) where.archived = { _eq: false };
    if (options.name) where.name = { _eq: options.name };
    if (options.projectName) where.project = { name: { _eq: options.projectName } };
    return this.flows({ where, order_by: [{ name: "asc" }, { version: "desc" }], limit: options.limit ?? 1000 });
  }

  /** Flows with their project's id and name, as the API's `flow { … project { id name } }`. */
  private async flows(args: { where: unknown; order_by: unknown; limit: number }): Promise<FlowRow[]> {
    const rows = await this.reads.select("flow", args, FLOW_LIST_COLUMNS);
    if (rows.length === 0) return [];
    const projects = await this.reads.loadRelation("flow", "project", [...new Set(rows.map((r) => r.project_id))], undefined, ["id", "name"]);
    return rows.map(({ project_id, ...flow }) => {
      const project = projects.get(project_id)?.[0] as Row;
      return { ...flow, project: { id: project.id, name: project.name } } as unknown as FlowRow;
    });
  }

  async createFlow(input: CreateFlowInput): Promise<{ id: string; version: number; schedule_left_off: string | null }> {
    const created = await this.services.createFlow({
      serializedFlow: input.serializedFlow,
      projectId: input.projectId,
      idempotencyKey: input.idempotencyKey ?? null,
      setScheduleActive: input.setScheduleActive ?? true,
    });
    return { id: created.id, version: created.version, schedule_left_off: created.scheduleLeftOff ?? null };
  }

  async archiveFlow(flowId: string): Promise<void> {
    await this.services.archiveFlow(flowId);
  }

  async createFlowRun(input: FlowRunInput): Promise<string> {
    const created = await this.services.createFlowRun({
      flowId: input.flowId ?? null,
      versionGroupId: input.versionGroupId ?? null,
      flowGroupId: input.flowGroupId ?? null,
      parameters: input.parameters ?? null,
      context: input.context ?? null,
      labels: input.labels ?? null,
      flowRunName: input.runName ?? null,
      scheduledStartTime: input.scheduledStartTime ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      runConfig: input.runConfig ?? null,
    });
    return created.id;
  }

  async readFlowRun(id: string): Promise<FlowRunDetails | undefined> {
    const run = await this.reads.byPk("flow_run", id, FLOW_RUN_COLUMNS);
    if (!run) return undefined;
    const flow = (await this.reads.byPk("flow", String(run.flow_id), FLOW_COLUMNS))!;
    const group = await this.reads.byPk("flow_group", String(flow.flow_group_id), ["settings"]);
    const taskRuns = await this.reads.select("task_run", { where: { flow_run_id: { _eq: id } }, order_by: TASK_RUN_ORDER }, TASK_RUN_COLUMNS);
    const { flow_id: _flowId, ...fields } = run;
    const { flow_group_id: _groupId, ...flowFields } = flow;
    return {
      ...(fields as Omit<FlowRunDetails, "flow" | "task_runs">),
      flow: { ...(flowFields as Omit<FlowRunDetails["flow"], "flow_group">), flow_group: group ? { settings: group.settings as Record<string, unknown> | null } : null },
      task_runs: taskRuns as unknown as TaskRunRow[],
    };
  }

  async readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined> {
    const row = await this.reads.byPk("flow_run", id, ["state", "version"]);
    return row ? { state: row.state as StateType, version: row.version as number } : undefined;
  }

  async readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]> {
    return (await this.reads.select("task_run", { where: { id: { _in: [...ids] } }, order_by: TASK_RUN_ORDER }, TASK_RUN_COLUMNS)) as unknown as TaskRunRow[];
  }

  async setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number> {
    const [written] = await this.services.setFlowRunStates([{ flowRunId: id, version, state, rerun: false, writeId }], { agentId: undefined });
    return written!.version;
  }

  async setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]> {
    return (await this.services.setTaskRunStates(taskRunStateInputs(items))).map((w) => w.version);
  }

  async mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]> {
    return mappedChildrenInPages(count, async (start, size) =>
      (await this.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug, count: size, start })).map(taskRunRow),
    );
  }

  async writeLogs(logs: readonly LogRow[]): Promise<void> {
    await this.services.writeRunLogs([...logs]);
  }

  async writeBatch(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }> {
    const flow = batch.flowRunState;
    const written = await this.services.writeRunBatch({
      taskRunStates: taskRunStateInputs(batch.taskRunStates),
      logs: [...batch.logs],
      flowRunState: flow ? { flowRunId: flow.id, version: flow.version, state: flow.state, rerun: false, writeId: flow.writeId } : undefined,
    });
    return { taskRunVersions: written.taskRunStates.map((w) => w.version), flowRunVersion: written.flowRunState?.version };
  }

  async heartbeat(flowRunId: string): Promise<void> {
    await this.services.updateFlowRunHeartbeat(flowRunId);
  }

  async cancel(flowRunId: string): Promise<StateType> {
    return (await this.services.cancelFlowRun(flowRunId)).state;
  }

  watchFromThread(flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined {
    return this.options.watchFromThread?.(flowRunId, options);
  }

  async registerAgent(name: string, labels: readonly string[]): Promise<string> {
    return (await this.services.registerAgent({ type: "LocalAgent", name, labels: [...labels] })).id;
  }

  async claimRuns(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]> {
    const runs = await this.services.claimRuns({ agentId, labels: [...labels], limit });
    return runs.map((run) => claimedRun(run.id, run.runConfig));
  }

  async pollRuns(agentId: string, labels: readonly string[]): Promise<void> {
    await this.services.getRunsInQueue({ agentId, labels: [...labels], limit: 1 });
  }

  async runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>> {
    if (flowRunIds.length === 0) return new Map();
    const rows = await this.reads.select("flow_run", { where: { id: { _in: [...flowRunIds] } }, limit: flowRunIds.length }, ["id", "state", "version"]);
    return new Map(rows.map((r) => [String(r.id), { state: r.state as StateType, version: Number(r.version) }]));
  }

  async endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }> {
    const ended = await this.services.endAbandonedRun({ flowRunId, state, message, logger });
    return { state: ended.state, changed: ended.changed };
  }

  async writeRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.services.writeRunLogs(lines.map((l) => ({ flow_run_id: l.flowRunId, level: l.level, message: l.message, name: l.name })));
  }

  location(): BackendLocation {
    return { ...this.options.location };
  }
}

function taskRunStateInputs(items: readonly TaskRunStateWrite[]): TaskRunStateInput[] {
  return items.map((i) => ({ taskRunId: i.taskRunId, version: i.version, state: i.state, rerun: false, writeId: i.writeId }));
}

function taskRunRow(r: TaskRunInfo): TaskRunRow {
  return { id: r.id, task_slug: r.taskSlug, map_index: r.mapIndex, version: r.version, state: r.state, serialized_state: r.serializedState };
}
