import type { StateType } from "../../src/core/state.ts";
import { openTestBackend, row, rows, serializedFlow, type TestBackend } from "../services/fixtures.ts";

export { openTestBackend, row, rows, type TestBackend };

export const HEARTBEAT_MS = 30_000;
/** Four missed beats of 30 s. */
export const ZOMBIE_AFTER_MS = 4 * HEARTBEAT_MS;
export const LAZARUS_AFTER_MS = 600_000;

let flowCount = 0;

/**
 * A flow "extract-1 → load-1" whose load task has `loadRetries` retries (retry delay 5 s),
 * and one run of it, already Running (as its runner set it). Returns the ids.
 */
export async function runningRun(b: TestBackend, options: { loadRetries?: number } = {}) {
  const flow = serializedFlow({ name: `guarded-${++flowCount}`, tasks: ["extract-1", "load-1"] });
  const load = flow.tasks.find((t) => t.slug === "load-1")!;
  load.maxRetries = options.loadRetries ?? 0;
  load.retryDelayMs = 5_000;
  const flowId = (await b.services.createFlow({ serializedFlow: flow, projectId: b.projectId })).id;
  const runId = (await b.services.createFlowRun({ flowId })).id;
  await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
  const taskRun = async (slug: string) => (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $r AND task_slug = $s", { r: runId, s: slug })).id as string;
  return { flowId, runId, extract: await taskRun("extract-1"), load: await taskRun("load-1") };
}

export async function taskRun(b: TestBackend, id: string) {
  return row(b, "SELECT state, version, serialized_state FROM task_run WHERE id = $id", { id });
}

export async function flowRun(b: TestBackend, id: string) {
  return row(b, "SELECT state, version, state_message, times_resurrected FROM flow_run WHERE id = $id", { id });
}

/** Move a task run through states as a runner would (each write over the version it read). */
export async function setTask(b: TestBackend, id: string, ...types: StateType[]) {
  for (const type of types) {
    const { version } = await taskRun(b, id);
    await b.services.setTaskRunStates([{ taskRunId: id, version, state: { type } }]);
  }
}

export async function logsOf(b: TestBackend, runId: string) {
  return rows(b, "SELECT task_run_id, name, level, message FROM log WHERE flow_run_id = $id ORDER BY timestamp", { id: runId });
}
