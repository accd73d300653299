import { notFoundError, validationError } from "../core/errors.ts";
import type { MappedChildrenSummary } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { TaskRunInfo } from "./types.ts";
import { normalizeLabels, requireUuid } from "./validate.ts";

function requireName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw validationError("name must be a non-empty string");
  return value;
}

/** What Prefect Server lets a user change on a run after it was created: names, labels, and deleting it. */
export function createRunEditService(deps: ServiceDeps) {
  async function setFlowRunName(flowRunId: string, name: string): Promise<void> {
    const id = requireUuid(flowRunId, "flow_run_id");
    const value = requireName(name);
    if (!(await deps.store.transaction(() => deps.store.flowRuns.setName(id, value, isoNow(deps))))) throw notFoundError(`Flow run ${id} not found`);
  }

  async function setTaskRunName(taskRunId: string, name: string): Promise<void> {
    const id = requireUuid(taskRunId, "task_run_id");
    const value = requireName(name);
    if (!(await deps.store.transaction(() => deps.store.taskRuns.setName(id, value, isoNow(deps))))) throw notFoundError(`Task run ${id} not found`);
  }

  /** Replace a run's labels, stored sorted (and deduplicated); which agent may take it follows them. */
  async function setFlowRunLabels(flowRunId: string, labels: string[]): Promise<void> {
    const id = requireUuid(flowRunId, "flow_run_id");
    const value = normalizeLabels(labels);
    await deps.store.transaction(async () => {
      await deps.store.lock.flowRun(id, "update");
      const run = await deps.store.flowRuns.get(id);
      if (!run) throw notFoundError(`Flow run ${id} not found`);
      await deps.store.flowRuns.setLabels(id, value, isoNow(deps));
      // A waiting run with new labels may now suit an agent that is waiting.
      if (run.state === "Scheduled") await deps.store.events.runsChanged({ at: run.stateStartTime ?? run.scheduledStartTime, labels: value });
    });
  }

  /** Delete a flow run with its task runs, states and logs, in one transaction. */
  async function deleteFlowRun(flowRunId: string): Promise<void> {
    const id = requireUuid(flowRunId, "flow_run_id");
    await deps.store.transaction(async () => {
      await deps.store.lock.flowRun(id, "update");
      if (!(await deps.store.flowRuns.get(id))) throw notFoundError(`Flow run ${id} not found`);
      await deps.store.flowRuns.delete([id]);
    });
  }

  async function getTaskRunInfo(taskRunId: string): Promise<TaskRunInfo> {
    const id = requireUuid(taskRunId, "task_run_id");
    const run = await deps.store.taskRuns.get(id);
    if (!run) throw notFoundError(`Task run ${id} not found`);
    return run;
  }

  /** The children of a mapped task run (the map index -1 one) summed up: earliest start, latest end, runs per state. */
  async function mappedChildren(taskRunId: string): Promise<MappedChildrenSummary> {
    const id = requireUuid(taskRunId, "task_run_id");
    // Prefect Server answers an unknown or unmapped task run with no children, not an error.
    return (await deps.store.taskRuns.mappedChildren(id)) ?? { minStartTime: null, maxEndTime: null, stateCounts: {} };
  }

  return { setFlowRunName, setTaskRunName, setFlowRunLabels, deleteFlowRun, getTaskRunInfo, mappedChildren };
}
