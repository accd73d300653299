import { notFoundError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { requireUuid } from "./validate.ts";

/** Heartbeats: the executing process says it is alive (the zombie killer and Lazarus read them). */
export function createHeartbeatService(deps: ServiceDeps) {
  async function updateFlowRunHeartbeat(flowRunId: string): Promise<void> {
    const id = requireUuid(flowRunId, "flow_run_id");
    const found = await deps.store.transaction(() => deps.store.flowRuns.setHeartbeat(id, isoNow(deps)));
    if (!found) throw notFoundError(`Flow run ${id} not found`);
  }
  async function updateTaskRunHeartbeat(taskRunId: string): Promise<void> {
    const id = requireUuid(taskRunId, "task_run_id");
    const found = await deps.store.transaction(() => deps.store.taskRuns.setHeartbeat(id, isoNow(deps)));
    if (!found) throw notFoundError(`Task run ${id} not found`);
  }
  return { updateFlowRunHeartbeat, updateTaskRunHeartbeat };
}
