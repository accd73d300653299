import { FLOW_RUN_SERIALIZED_FLOW, TASK_RUN_VIEW_BY_ID, TASK_RUN_VIEW_BY_SLUG } from "../documents.ts";
import { refuseSnakeCase } from "../snake-case.ts";
import { PrefectliteError } from "../../core/errors.ts";
import type { State } from "../../core/state.ts";
import { requireId, resolveViewDeps, type ViewDeps, type ViewOptions } from "./deps.ts";
import { checkContiguous, childPages, mapBounded, RESULT_READ_CONCURRENCY } from "./mapped.ts";
import { configuredResultDir } from "../../core/result-folder.ts";
import { stateOfRow, taskRunLabel, type TaskRunRow } from "./rows.ts";

/** Where a view keeps its loaded result; shared with the view `getLatest()` returns. */
interface ResultCache {
  loaded: boolean;
  value: unknown;
}

/**
 * One task run as the backend knows it (Prefect's `TaskRunView`): an immutable snapshot.
 * `getResult()` reads the task's return value from where the run recorded it, once.
 */
export class TaskRunView {
  readonly taskRunId: string;
  readonly taskId: string;
  readonly taskSlug: string;
  /** The task's name. */
  readonly name: string;
  readonly flowRunId: string;
  /** -1 for an unmapped task run (or a mapped parent), 0…n-1 for a mapped child. */
  readonly mapIndex: number;
  readonly state: State;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly updatedAt: string | null;
  readonly #deps: ViewDeps;
  readonly #cache: ResultCache;

  private constructor(row: TaskRunRow, deps: ViewDeps, cache: ResultCache = { loaded: false, value: undefined }) {
    this.taskRunId = row.id;
    this.taskId = row.task_id;
    this.taskSlug = row.task_slug;
    this.name = row.task?.name ?? row.task_slug;
    this.flowRunId = row.flow_run_id;
    this.mapIndex = row.map_index;
    this.state = Object.freeze(stateOfRow(row));
    this.startTime = row.start_time;
    this.endTime = row.end_time;
    this.updatedAt = row.updated;
    this.#deps = deps;
    this.#cache = cache;
    Object.freeze(this);
  }

  /** @internal A view of a row another view already read (FlowRunView, iterMapped). */
  static fromRow(row: TaskRunRow, deps: ViewDeps): TaskRunView {
    return new TaskRunView(row, deps);
  }

  static async fromTaskRunId(taskRunId: string, options: ViewOptions = {}): Promise<TaskRunView> {
    const id = requireId(taskRunId, "Task run");
    const deps = resolveViewDeps(options);
    const data = await deps.client.graphql<{ task_run_by_pk: TaskRunRow | null }>(TASK_RUN_VIEW_BY_ID, { id });
    if (!data.task_run_by_pk) throw new PrefectliteError("NotFound", `Task run ${id} not found`);
    return new TaskRunView(data.task_run_by_pk, deps);
  }

  /** The run of task `taskSlug` in a flow run (`mapIndex` picks a mapped child; default -1). */
  static async fromTaskSlug(
    taskSlug: string,
    flowRunIdOrOptions: string | (ViewOptions & { flowRunId: string; mapIndex?: number }),
  ): Promise<TaskRunView> {
    if (typeof taskSlug !== "string" || !taskSlug) throw new PrefectliteError("Validation", "a task slug is required, e.g. 'say_hello-1'");
    const options = typeof flowRunIdOrOptions === "string" ? { flowRunId: flowRunIdOrOptions } : flowRunIdOrOptions;
    refuseSnakeCase(options, "TaskRunView.fromTaskSlug");
    if (options?.flowRunId === undefined || options?.flowRunId === null) {
      throw new PrefectliteError("Validation", "TaskRunView.fromTaskSlug needs the flow run: fromTaskSlug(slug, { flowRunId }) or fromTaskSlug(slug, flowRunId)");
    }
    const flowRunId = requireId(options.flowRunId, "Flow run");
    const mapIndex = options.mapIndex ?? -1;
    if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new PrefectliteError("Validation", `mapIndex must be a whole number ≥ -1 (got ${mapIndex})`);
    const deps = resolveViewDeps(options);
    const data = await deps.client.graphql<{ task_run: TaskRunRow[]; flow_run_by_pk: { task_runs: Array<{ task_slug: string }> } | null }>(
      TASK_RUN_VIEW_BY_SLUG,
      { flowRunId, slug: taskSlug, mapIndex },
    );
    const row = data.task_run[0];
    if (row) return new TaskRunView(row, deps);
    if (!data.flow_run_by_pk) throw new PrefectliteError("NotFound", `Flow run ${flowRunId} not found`);
    const slugs = data.flow_run_by_pk.task_runs.map((t) => t.task_slug);
    if (slugs.includes(taskSlug)) {
      throw new PrefectliteError("NotFound", `Task run '${taskRunLabel(taskSlug, mapIndex)}' not found in flow run ${flowRunId}: it has no child with map index ${mapIndex}`);
    }
    throw new PrefectliteError(
      "NotFound",
      `No task with slug '${taskSlug}' in flow run ${flowRunId}; its task slugs are: ${slugs.join(", ") || "(none)"}`,
    );
  }

  /** A fresh snapshot of this task run; a result already loaded stays loaded. */
  async getLatest(): Promise<TaskRunView> {
    const data = await this.#deps.client.graphql<{ task_run_by_pk: TaskRunRow | null }>(TASK_RUN_VIEW_BY_ID, { id: this.taskRunId });
    if (!data.task_run_by_pk) throw new PrefectliteError("NotFound", `Task run ${this.taskRunId} no longer exists`);
    return new TaskRunView(data.task_run_by_pk, this.#deps, this.#cache);
  }

  private get label(): string {
    return taskRunLabel(this.taskSlug, this.mapIndex);
  }

  /**
   * The task's return value, read from its recorded result location and kept: a second call
   * reads nothing. A Mapped parent returns its children's results in map order.
   */
  async getResult(): Promise<unknown> {
    if (this.#cache.loaded) return this.#cache.value;
    if (!this.state.isFinished()) {
      throw new PrefectliteError(
        "Validation",
        `The result of task run '${this.label}' cannot be loaded: it is not finished (it is ${this.state.type})`,
      );
    }
    const value = this.state.isMapped() ? await this.loadMappedResult() : await readResultOf(this.label, this.state, this.#deps, this.flowRunId, this.taskSlug);
    this.#cache.value = value;
    this.#cache.loaded = true;
    return value;
  }

  /**
   * The children of a Mapped task run as views, map index 0, 1, 2, …: read a page at a time,
   * so a large map is never held in memory at once.
   */
  async *iterMapped(): AsyncGenerator<TaskRunView, void, undefined> {
    this.requireMapped("iterMapped()");
    for await (const page of childPages(this.#deps.client, this.flowRunId, this.taskSlug, 100)) {
      for (const row of page) yield new TaskRunView(row, this.#deps);
    }
  }

  private requireMapped(what: string): void {
    if (!this.state.isMapped()) {
      throw new PrefectliteError("Validation", `${what} needs a Mapped task run; '${this.label}' is ${this.state.type}`);
    }
  }

  private async loadMappedResult(): Promise<unknown[]> {
    const values: unknown[] = [];
    for await (const page of childPages(this.#deps.client, this.flowRunId, this.taskSlug)) {
      checkContiguous(page, values.length, this.label);
      const loaded = await mapBounded(page, RESULT_READ_CONCURRENCY, (row) =>
        readResultOf(taskRunLabel(row.task_slug, row.map_index), stateOfRow(row), this.#deps, row.flow_run_id, row.task_slug),
      );
      for (const v of loaded) values.push(v);
    }
    const expected = this.state.nMapStates;
    if (expected !== undefined && expected !== values.length) {
      throw new PrefectliteError(
        "NotFound",
        `The results of mapped task run '${this.label}' cannot be loaded: it has ${values.length} of its ${expected} children`,
      );
    }
    return values;
  }

  toString(): string {
    return `TaskRunView(${this.label}, ${this.state.type}, ${this.taskRunId})`;
  }
}

/** Read one task run's stored result, or say clearly why there is none. */
async function readResultOf(label: string, state: State, deps: ViewDeps, flowRunId: string, taskSlug: string): Promise<unknown> {
  if (!state.isFinished()) {
    throw new PrefectliteError("Validation", `The result of task run '${label}' cannot be loaded: it is not finished (it is ${state.type})`);
  }
  const location = state.resultLocation;
  if (!location) {
    const why = state.isSuccessful()
      ? "its state records no result location (give the task a result, e.g. new LocalResult(), or run it through the backend, which stores every result)"
      : `it ended ${state.type}${state.message ? ` (${state.message})` : ""}`;
    throw new PrefectliteError("NotFound", `Task run '${label}' has no stored result: ${why}`);
  }
  if (location.type !== "LocalResult") {
    throw new PrefectliteError("Validation", `Task run '${label}': cannot read a result of type ${String(location.type)}`);
  }
  try {
    return await deps.results.read(location, { configuredDir: () => configuredDirOf(deps, flowRunId, taskSlug) });
  } catch (e) {
    if (e instanceof PrefectliteError) throw new PrefectliteError(e.code, `Task run '${label}': ${e.message}`);
    throw e;
  }
}

/** Registered flows of the flow runs results were read from, per client (a few: views read a run's results together). */
const serializedFlows = new WeakMap<object, Map<string, Promise<unknown>>>();
const MAX_CACHED_RUNS = 64;

/** The dir the registered flow configures for the task's results (task's, else flow's LocalResult), or null. */
async function configuredDirOf(deps: ViewDeps, flowRunId: string, taskSlug: string): Promise<string | null> {
  let cache = serializedFlows.get(deps.client);
  if (!cache) serializedFlows.set(deps.client, (cache = new Map()));
  let flow = cache.get(flowRunId);
  if (!flow) {
    flow = deps.client
      .graphql<{ flow_run_by_pk: { flow: { serialized_flow: unknown } | null } | null }>(FLOW_RUN_SERIALIZED_FLOW, { id: flowRunId })
      .then((d) => d.flow_run_by_pk?.flow?.serialized_flow ?? null);
    if (cache.size >= MAX_CACHED_RUNS) cache.delete(cache.keys().next().value!);
    cache.set(flowRunId, flow);
    flow.catch(() => cache.delete(flowRunId));
  }
  return configuredResultDir(await flow, taskSlug);
}
