import type { ServiceDeps } from "./deps.ts";
import type { Services } from "./index.ts";
import type { FlowRunStateInput, StateWriteResult, TaskRunStateInput, WriteRunLogsResult } from "./types.ts";

export interface RunWriteBatch {
  taskRunStates: TaskRunStateInput[];
  logs: unknown[];
  /** Written last, over the flow run's version as given. */
  flowRunState?: FlowRunStateInput;
}

export interface RunWriteBatchResult {
  taskRunStates: StateWriteResult[];
  logs: WriteRunLogsResult;
  flowRunState?: StateWriteResult;
}

/**
 * A runner's task-run states, logs and flow-run state in one transaction: a run's last batch
 * and its final state cost one commit instead of three. All or nothing: a refused state (a
 * stale version, a move not allowed) rolls back the logs with it, and the error says which.
 */
export function createRunBatchService(deps: ServiceDeps, parts: Pick<Services, "setTaskRunStates" | "writeRunLogs" | "setFlowRunStates">) {
  async function writeRunBatch(batch: RunWriteBatch): Promise<RunWriteBatchResult> {
    return await deps.store.transaction(async () => {
      const taskRunStates = batch.taskRunStates.length ? await parts.setTaskRunStates(batch.taskRunStates) : [];
      const logs = batch.logs.length ? await parts.writeRunLogs(batch.logs) : { written: 0, skipped: 0 };
      const flowRunState = batch.flowRunState ? await (await parts.setFlowRunStates([batch.flowRunState]))[0] : undefined;
      return { taskRunStates, logs, flowRunState };
    });
  }
  return { writeRunBatch };
}
