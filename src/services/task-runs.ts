import { newId } from "./ids.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import type { NewTaskRun, TaskRecord, TaskRunRecord } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { serverState, stateWrite } from "./state-input.ts";
import type { MappedChildrenInput, TaskRunInfo, TaskRunLookup } from "./types.ts";
import { settings } from "../settings.ts";
import { requireUuid } from "./validate.ts";
import { ROWS_PER_TRANSACTION, inTransactions } from "./chunks.ts";

/** Task runs looked up or created on demand: unmapped ones by slug or task id, mapped children in bulk. */
export function createTaskRunService(deps: ServiceDeps) {
  async function taskOf(input: { flowRunId: string; taskId?: string | null; taskSlug?: string | null }) {
    const flowRunId = requireUuid(input.flowRunId, "flow_run_id");
    const flowRun = await deps.store.flowRuns.get(flowRunId);
    if (!flowRun) throw notFoundError(`Flow run ${flowRunId} not found`);
    let task: TaskRecord | undefined;
    if (input.taskId != null) task = await deps.store.flows.findTask(flowRun.flowId, { id: requireUuid(input.taskId, "task_id") });
    else if (input.taskSlug != null) task = await deps.store.flows.findTask(flowRun.flowId, { slug: String(input.taskSlug) });
    else throw validationError("One of task_id or task_slug must be provided.");
    if (!task) throw notFoundError(`Task ${input.taskId ?? `'${input.taskSlug}'`} is not a task of the flow of run ${flowRunId}`);
    return { flowRunId, task };
  }

  function newTaskRun(flowRunId: string, task: TaskRecord, mapIndex: number, now: string) {
    return {
      id: newId(),
      flowRunId,
      taskId: task.id,
      taskSlug: task.slug,
      mapIndex,
      cacheKey: task.cacheKey,
      initialState: stateWrite(serverState("Pending", "Task run created", now)),
    };
  }

  async function getOrCreateTaskRunInfo(input: TaskRunLookup): Promise<TaskRunInfo> {
    const mapIndex = input.mapIndex ?? -1;
    if (!Number.isInteger(mapIndex) || mapIndex < -1) throw validationError("map_index must be an integer ≥ -1");
    return await deps.store.transaction(async () => {
      const { flowRunId, task } = await taskOf(input);
      const existing = await deps.store.taskRuns.find(flowRunId, task.slug, mapIndex);
      if (existing) return info(existing);
      await deps.store.taskRuns.insertMissing([newTaskRun(flowRunId, task, mapIndex, isoNow(deps))], isoNow(deps));
      return info((await deps.store.taskRuns.find(flowRunId, task.slug, mapIndex))!);
    });
  }

  async function getOrCreateMappedTaskRuns(input: MappedChildrenInput): Promise<TaskRunInfo[]> {
    const { count } = input;
    const start = input.start ?? 0;
    const max = settings.maxMappedChildrenPerCall();
    if (!Number.isSafeInteger(start) || start < 0) throw validationError("start must be an integer ≥ 0 (the first map index to return)");
    if (!Number.isSafeInteger(count) || count < 0) throw validationError("count must be an integer ≥ 0");
    if (count > max) {
      throw validationError(
        `count ${count} is more than ${max} children per call (PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL): ` +
          `ask for them in pages with start (start: 0, count: ${max}; start: ${max}, …)`,
      );
    }
    const end = start + count;
    const { flowRunId, task } = await taskOf(input);
    const now = isoNow(deps);
    const existing = await deps.store.taskRuns.range(flowRunId, task.slug, start, end);
    if (existing.length === count) return existing.map(info);
    const have = new Set(existing.map((r) => r.mapIndex));
    const missing: NewTaskRun[] = [];
    for (let i = start; i < end; i++) if (!have.has(i)) missing.push(newTaskRun(flowRunId, task, i, now));
    // Creating is idempotent (a child that exists is kept), so the children are inserted in
    // transactions of ROWS_PER_TRANSACTION: other writers get the lock in between.
    let inserted = 0;
    await inTransactions(deps.store, missing, ROWS_PER_TRANSACTION, async (slice) => {
      inserted += await deps.store.taskRuns.insertMissing(slice, now);
    });
    // Nobody else inserted meanwhile (a retry or a second runner of the same run would have):
    // the children are the ones read plus the ones just written, which need not be read back.
    if (inserted !== missing.length) return (await deps.store.taskRuns.range(flowRunId, task.slug, start, end)).map(info);
    const all: TaskRunInfo[] = new Array(count);
    for (const r of existing) all[r.mapIndex - start] = info(r);
    for (const m of missing) all[m.mapIndex - start] = createdInfo(m);
    return all;
  }

  return { getOrCreateTaskRunInfo, getOrCreateMappedTaskRuns };
}

/** The info of a task run just inserted (version 1, its initial state). */
function createdInfo(run: NewTaskRun): TaskRunInfo {
  return {
    id: run.id,
    flowRunId: run.flowRunId,
    taskId: run.taskId,
    taskSlug: run.taskSlug,
    mapIndex: run.mapIndex,
    version: 1,
    state: run.initialState.state.type,
    serializedState: run.initialState.state,
  };
}

function info(r: TaskRunRecord): TaskRunInfo {
  return {
    id: r.id,
    flowRunId: r.flowRunId,
    taskId: r.taskId,
    taskSlug: r.taskSlug,
    mapIndex: r.mapIndex,
    version: r.version,
    state: r.state,
    serializedState: r.serializedState,
  };
}
