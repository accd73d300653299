import { describe, expect, test } from "bun:test";
import { BackendReporter } from "../../src/backed/backend-reporter.ts";
import type { ReporterBackend } from "../../src/backed/backend-reporter.ts";
import type { LogRow, RunWriteBatch, TaskRunStateWrite } from "../../src/client/backend.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { makeState, type SerializedState } from "../../src/core/state.ts";

type Call =
  | { op: "batch"; batch: RunWriteBatch }
  | { op: "taskStates"; items: readonly TaskRunStateWrite[] }
  | { op: "logs"; logs: readonly LogRow[] }
  | { op: "flowState"; version: number; state: SerializedState };

const FLOW_RUN = "00000000-0000-7000-8000-000000000001";
const TASK_RUN = "00000000-0000-7000-8000-000000000002";

/** A backend that records what the reporter sends, with or without one-transaction batches. */
function recordingApi(options: { batches: boolean; refuseBatch?: boolean }) {
  const calls: Call[] = [];
  const api: ReporterBackend = {
    readFlowRunState: async () => ({ state: "Running", version: 2 }),
    readTaskRuns: async () => [],
    setFlowRunState: async (_id, version, state) => (calls.push({ op: "flowState", version, state }), version + 1),
    setTaskRunStates: async (items) => (calls.push({ op: "taskStates", items }), items.map((i) => i.version + 1)),
    mappedChildren: async () => [],
    writeLogs: async (logs) => void calls.push({ op: "logs", logs }),
  };
  if (options.batches) {
    api.writeBatch = async (batch) => {
      calls.push({ op: "batch", batch });
      if (options.refuseBatch) throw new PrefectliteError("Conflict", "refused");
      return { taskRunVersions: batch.taskRunStates.map((i) => i.version + 1), flowRunVersion: batch.flowRunState && batch.flowRunState.version + 1 };
    };
  }
  return { api, calls };
}

async function reportOneTaskRun(api: ReporterBackend, onFlowRunState?: () => void) {
  const reporter = new BackendReporter(api, {
    flowRunId: FLOW_RUN,
    flowRunVersion: 2,
    taskRuns: [{ id: TASK_RUN, task_slug: "t-1", map_index: -1, version: 1, state: "Pending", serialized_state: null }],
    versionLocking: false,
    warn: () => {},
    onFlowRunState,
  });
  await reporter.setTaskRunState({ slug: "t-1", mapIndex: -1 }, makeState("Running"));
  await reporter.setTaskRunState({ slug: "t-1", mapIndex: -1 }, makeState("Success"));
  reporter.log({ timestamp: Date.parse("2026-11-23T10:00:00Z"), level: "INFO", name: "prefectlite.Task: t", message: "done", taskRunKey: "t-1" });
  await reporter.setFlowRunState(makeState("Success"));
  await reporter.close();
  return reporter;
}

describe("the reporter's last writes", () => {
  test("where the backend takes batches, the buffered states and logs and the final flow state go in one call", async () => {
    const { api, calls } = recordingApi({ batches: true });
    const reporter = await reportOneTaskRun(api);
    expect(calls.map((c) => c.op)).toEqual(["batch"]);
    const { batch } = calls[0] as { batch: RunWriteBatch };
    expect(batch.taskRunStates.map((s) => [s.taskRunId, s.version, s.state.type])).toEqual([
      [TASK_RUN, 1, "Running"],
      [TASK_RUN, 2, "Success"],
    ]);
    expect(batch.logs.map((l) => [l.task_run_id, l.message])).toEqual([[TASK_RUN, "done"]]);
    expect([batch.flowRunState!.version, batch.flowRunState!.state.type]).toEqual([2, "Success"]);
    expect(reporter.version).toBe(3);
  });

  test("a refused batch is written again piece by piece, with the versions it had", async () => {
    const { api, calls } = recordingApi({ batches: true, refuseBatch: true });
    const reporter = await reportOneTaskRun(api);
    expect(calls.map((c) => c.op)).toEqual(["batch", "taskStates", "logs", "flowState"]);
    const taskStates = calls[1] as { items: readonly TaskRunStateWrite[] };
    expect(taskStates.items.map((s) => [s.version, s.state.type])).toEqual([
      [1, "Running"],
      [2, "Success"],
    ]);
    expect((calls[3] as { version: number }).version).toBe(2);
    expect(reporter.version).toBe(3);
  });

  test("a batch that was written is never sent again, even when the caller's state callback throws", async () => {
    const { api, calls } = recordingApi({ batches: true });
    const printerBroke = () => {
      throw new Error("printer broke");
    };
    await expect(reportOneTaskRun(api, printerBroke)).rejects.toThrow("printer broke");
    expect(calls.map((c) => c.op)).toEqual(["batch"]);
  });

  test("with a run API that takes no batches, states, logs and the flow state are written one after another", async () => {
    const { api, calls } = recordingApi({ batches: false });
    await reportOneTaskRun(api);
    expect(calls.map((c) => c.op)).toEqual(["taskStates", "logs", "flowState"]);
  });
});
