import type { SerializedState, StateType } from "../core/state.ts";
import type { TaskRunInfo, TaskRunStateInput } from "../services/index.ts";
import { mappedChildrenInPages, type FlowRunDetails, type LogRow, type RunApi, type RunWriteBatch, type TaskRunRow, type TaskRunStateWrite } from "./run-api.ts";
import type { DirectBackend } from "./transport.ts";

const FLOW_RUN_COLUMNS = ["id", "name", "version", "state", "serialized_state", "scheduled_start_time", "parameters", "labels", "run_config", "flow_id"];
const FLOW_COLUMNS = ["id", "name", "serialized_hash", "storage", "run_config", "flow_group_id"];
const TASK_RUN_COLUMNS = ["id", "task_slug", "map_index", "version", "state", "serialized_state"];

/**
 * The run API on the embedded database in this process: the same services and read model the
 * GraphQL resolvers call, the same rows and errors, without a GraphQL document per call
 * (GraphQLRunApi is the one over HTTP; test/client/run-api.test.ts runs both through one suite).
 */
export class ServicesRunApi implements RunApi {
  constructor(private readonly backend: DirectBackend) {}

  async readFlowRun(id: string): Promise<FlowRunDetails | undefined> {
    const { reads } = this.backend;
    const run = await reads.byPk("flow_run", id, FLOW_RUN_COLUMNS);
    if (!run) return undefined;
    const flow = (await reads.byPk("flow", String(run.flow_id), FLOW_COLUMNS))!;
    const group = await reads.byPk("flow_group", String(flow.flow_group_id), ["settings"]);
    const { flow_id: _flowId, ...fields } = run;
    const { flow_group_id: _groupId, ...flowFields } = flow;
    return {
      ...(fields as Omit<FlowRunDetails, "flow" | "task_runs">),
      flow: { ...(flowFields as Omit<FlowRunDetails["flow"], "flow_group">), flow_group: group ? { settings: group.settings as Record<string, unknown> | null } : null },
      task_runs: (await reads.select("task_run", { where: { flow_run_id: { _eq: id } } }, TASK_RUN_COLUMNS)) as unknown as TaskRunRow[],
    };
  }

  async readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined> {
    const row = await this.backend.reads.byPk("flow_run", id, ["state", "version"]);
    return row ? { state: row.state as StateType, version: row.version as number } : undefined;
  }

  async readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]> {
    return (await this.backend.reads.select("task_run", { where: { id: { _in: [...ids] } } }, TASK_RUN_COLUMNS)) as unknown as TaskRunRow[];
  }

  async setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number> {
    const [written] = await this.backend.services.setFlowRunStates([{ flowRunId: id, version, state, rerun: false, writeId }], { agentId: undefined });
    return written!.version;
  }

  async setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]> {
    const written = await this.backend.services.setTaskRunStates(taskRunStateInputs(items));
    return written.map((w) => w.version);
  }

  async mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]> {
    return mappedChildrenInPages(count, async (start, size) =>
      (await this.backend.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug, count: size, start })).map(taskRunRow),
    );
  }

  async writeLogs(logs: readonly LogRow[]): Promise<void> {
    await this.backend.services.writeRunLogs([...logs]);
  }

  async writeBatch(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }> {
    const flow = batch.flowRunState;
    const written = (await this.backend.services.writeRunBatch({
      taskRunStates: taskRunStateInputs(batch.taskRunStates),
      logs: [...batch.logs],
      flowRunState: flow ? { flowRunId: flow.id, version: flow.version, state: flow.state, rerun: false, writeId: flow.writeId } : undefined,
    }));
    return { taskRunVersions: written.taskRunStates.map((w) => w.version), flowRunVersion: written.flowRunState?.version };
  }

  async heartbeat(flowRunId: string): Promise<void> {
    await this.backend.services.updateFlowRunHeartbeat(flowRunId);
  }

  async cancel(flowRunId: string): Promise<StateType> {
    return (await this.backend.services.cancelFlowRun(flowRunId)).state;
  }
}

function taskRunStateInputs(items: readonly TaskRunStateWrite[]): TaskRunStateInput[] {
  return items.map((i) => ({ taskRunId: i.taskRunId, version: i.version, state: i.state, rerun: false, writeId: i.writeId }));
}

function taskRunRow(r: TaskRunInfo): TaskRunRow {
  return { id: r.id, task_slug: r.taskSlug, map_index: r.mapIndex, version: r.version, state: r.state, serialized_state: r.serializedState };
}
