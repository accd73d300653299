import { notFoundError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { requireUuid } from "./validate.ts";

/** Heartbeats: the executing process says it is alive (the zombie killer and Lazarus read them). */
export function createHeartbeatService(deps: ServiceDeps) {
  function updateFlowRunHeartbeat(flowRunId: string): void {
    const id = requireUuid(flowRunId, "flow_run_id");
    if (!deps.store.flowRuns.setHeartbeat(id, isoNow(deps))) throw notFoundError(`Flow run ${id} not found`);
  }
  function updateTaskRunHeartbeat(taskRunId: string): void {
    const id = requireUuid(taskRunId, "task_run_id");
    if (!deps.store.taskRuns.setHeartbeat(id, isoNow(deps))) throw notFoundError(`Task run ${id} not found`);
  }
  return { updateFlowRunHeartbeat, updateTaskRunHeartbeat };
}
