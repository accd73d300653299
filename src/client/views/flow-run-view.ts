import { PrefectliteError } from "../../core/errors.ts";
import { runConfigFromRow, type RunConfig } from "../../core/run-config.ts";
import type { LogLevel } from "../../core/logging.ts";
import type { SerializedState, State, StateType } from "../../core/state.ts";
import { FLOW_RUN_VIEW_BY_ID, FLOW_RUN_VIEW_TASK_RUNS } from "../documents.ts";
import { deepFreeze, requireId, resolveViewDeps, type ViewDeps, type ViewOptions } from "./deps.ts";
import { FlowView } from "./flow-view.ts";
import { readFlowRunLogs, type FlowRunLog } from "./logs.ts";
import { stateOfRow, type TaskRunRow } from "./rows.ts";
import { TaskRunView } from "./task-run-view.ts";

interface FlowRunRow {
  id: string;
  name: string;
  flow_id: string;
  state: StateType | null;
  serialized_state: SerializedState | null;
  labels: string[] | null;
  parameters: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
  run_config: unknown;
  scheduled_start_time: string | null;
  start_time: string | null;
  end_time: string | null;
  created: string;
  updated: string;
  states: Array<{ state: StateType; serialized_state: SerializedState | null }>;
}

/** Finished task-run views, kept across `getLatest()` (a finished task run does not change). */
class TaskRunCache {
  readonly byId = new Map<string, TaskRunView>();
  readonly byKey = new Map<string, TaskRunView>();
  add(view: TaskRunView): TaskRunView {
    if (view.state.isFinished()) {
      this.byId.set(view.taskRunId, view);
      this.byKey.set(`${view.taskSlug}#${view.mapIndex}`, view);
    }
    return view;
  }
  copy(): TaskRunCache {
    const c = new TaskRunCache();
    for (const v of this.byId.values()) c.add(v);
    return c;
  }
}

/** At most this many task runs are read per query by getAllTaskRuns(). */
const TASK_RUN_PAGE = 1000;

/**
 * One flow run as the backend knows it (Prefect's `FlowRunView`): an immutable snapshot;
 * `getLatest()` returns a newer one. Task-run views of finished task runs are cached.
 */
export class FlowRunView {
  readonly flowRunId: string;
  readonly name: string;
  readonly flowId: string;
  readonly state: State;
  /** Every state the run went through, oldest first. */
  readonly states: readonly State[];
  readonly labels: readonly string[];
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly context: Readonly<Record<string, unknown>>;
  readonly runConfig: RunConfig | null;
  readonly scheduledStartTime: string | null;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly #deps: ViewDeps;
  readonly #taskRuns: TaskRunCache;
  #flow: FlowView | undefined;

  private constructor(row: FlowRunRow, deps: ViewDeps, taskRuns = new TaskRunCache(), flow?: FlowView) {
    this.flowRunId = row.id;
    this.name = row.name;
    this.flowId = row.flow_id;
    this.state = Object.freeze(stateOfRow(row));
    this.states = Object.freeze(row.states.map((s) => Object.freeze(stateOfRow(s))));
    this.labels = deepFreeze(row.labels ?? []);
    this.parameters = deepFreeze(row.parameters ?? {});
    this.context = deepFreeze(row.context ?? {});
    this.runConfig = runConfigFromRow(row.run_config);
    this.scheduledStartTime = row.scheduled_start_time;
    this.startTime = row.start_time;
    this.endTime = row.end_time;
    this.createdAt = row.created;
    this.updatedAt = row.updated;
    this.#deps = deps;
    this.#taskRuns = taskRuns;
    this.#flow = flow;
    Object.freeze(this);
  }

  static async fromFlowRunId(flowRunId: string, options: ViewOptions = {}): Promise<FlowRunView> {
    const id = requireId(flowRunId, "Flow run");
    const deps = resolveViewDeps(options);
    return new FlowRunView(await readRow(deps, id), deps);
  }

  /** A fresh snapshot; cached finished task runs and the flow metadata carry over. */
  async getLatest(): Promise<FlowRunView> {
    return new FlowRunView(await readRow(this.#deps, this.flowRunId), this.#deps, this.#taskRuns.copy(), this.#flow);
  }

  /** The registered flow this run is of (read once per view chain). */
  async getFlowMetadata(): Promise<FlowView> {
    this.#flow ??= await FlowView.fromFlowId(this.flowId, this.#deps);
    return this.#flow;
  }

  /** One task run, by slug (and map index; default -1) or by id. */
  async getTaskRun(query: { taskSlug?: string; taskRunId?: string; mapIndex?: number }): Promise<TaskRunView> {
    const { taskSlug, taskRunId } = query;
    const mapIndex = query.mapIndex ?? -1;
    if (!taskSlug && !taskRunId) throw new PrefectliteError("Validation", "getTaskRun needs a taskSlug or a taskRunId");
    const cached = taskRunId ? this.#taskRuns.byId.get(taskRunId) : this.#taskRuns.byKey.get(`${taskSlug}#${mapIndex}`);
    let view = cached;
    if (!view) {
      view = taskRunId
        ? await TaskRunView.fromTaskRunId(taskRunId, this.#deps)
        : await TaskRunView.fromTaskSlug(taskSlug!, { ...this.#deps, flowRunId: this.flowRunId, mapIndex });
    }
    if (view.flowRunId !== this.flowRunId) {
      throw new PrefectliteError("Validation", `Task run ${view.taskRunId} belongs to flow run ${view.flowRunId}, not ${this.flowRunId}`);
    }
    if (taskSlug && (view.taskSlug !== taskSlug || (query.mapIndex !== undefined && view.mapIndex !== mapIndex))) {
      throw new PrefectliteError("Validation", `Task run ${view.taskRunId} is '${view.taskSlug}' (map index ${view.mapIndex}), not '${taskSlug}' (map index ${mapIndex})`);
    }
    return cached ?? this.#taskRuns.add(view);
  }

  /** Every task run of this flow run (mapped children included), by slug then map index. */
  async getAllTaskRuns(): Promise<TaskRunView[]> {
    const out: TaskRunView[] = [];
    for (let offset = 0; ; offset += TASK_RUN_PAGE) {
      const data = await this.#deps.client.graphql<{ task_run: TaskRunRow[] }>(FLOW_RUN_VIEW_TASK_RUNS, { id: this.flowRunId, limit: TASK_RUN_PAGE, offset });
      for (const row of data.task_run) out.push(this.#taskRuns.byId.get(row.id) ?? this.#taskRuns.add(TaskRunView.fromRow(row, this.#deps)));
      if (data.task_run.length < TASK_RUN_PAGE) return out;
    }
  }

  /** The ids of every task run of this flow run. */
  async getTaskRunIds(): Promise<string[]> {
    return (await this.getAllTaskRuns()).map((t) => t.taskRunId);
  }

  /** The run's log lines at or above `level` (default all), oldest first. */
  getLogs(options: { level?: LogLevel } = {}): Promise<FlowRunLog[]> {
    return readFlowRunLogs(this.#deps.client, this.flowRunId, options);
  }

  toString(): string {
    return `FlowRunView(${this.name}, ${this.state.type}, ${this.flowRunId})`;
  }
}

async function readRow(deps: ViewDeps, id: string): Promise<FlowRunRow> {
  const data = await deps.client.graphql<{ flow_run_by_pk: FlowRunRow | null }>(FLOW_RUN_VIEW_BY_ID, { id });
  if (!data.flow_run_by_pk) throw new PrefectliteError("NotFound", `Flow run ${id} not found`);
  return data.flow_run_by_pk;
}
