import { describe, expect, test } from "bun:test";
import { stateFromJSON, type SerializedState } from "../../src/core/state.ts";
import { openTestBackend, registerFlow, row, type TestBackend } from "./fixtures.ts";
import { describeBackends, type StoreKind } from "../storage-helpers.ts";

const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);

async function setup(kind: StoreKind) {
  const b = await openTestBackend({ kind });
  const flowId = (await registerFlow(b)).id;
  const runId = (await b.services.createFlowRun({ flowId })).id;
  const taskRunId = (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $id", { id: runId })).id as string;
  return { b, runId, taskRunId };
}

const storedState = async (b: TestBackend, table: "flow_run" | "task_run", id: string) =>
  json((await row(b, `SELECT serialized_state FROM ${table} WHERE id = $id`, { id })).serialized_state) as SerializedState & Record<string, any>;

describeBackends((kind) => {
  describe("stored states carry Prefect Core's keys beside prefectlite's", () => {
    test("a new run's Scheduled state has Prefect's start_time, context, cached_inputs, __version__ and an empty _result", async () => {
      const { b, runId } = await setup(kind);
      const s = await storedState(b, "flow_run", runId);
      expect(s).toMatchObject({ type: "Scheduled", message: "Flow run scheduled.", __version__: "1.4.1", context: {}, cached_inputs: {} });
      expect(s.start_time).toBe(s.startTime!);
      expect(s._result).toEqual({ type: "NoResultType", __version__: "1.4.1" });
    });

    test("a prefectlite result is named a LocalResult with a JSON serializer, and prefectlite still reads its own keys", async () => {
      const { b, runId, taskRunId } = await setup(kind);
      await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
      await b.services.setTaskRunStates([{ taskRunId, version: 1, state: { type: "Running" } }]);
      const result = { type: "LocalResult", location: "/home/user/.prefectlite/results/r.json", dir: "/home/user/.prefectlite/results" };
      await b.services.setTaskRunStates([{ taskRunId, version: 2, state: { type: "Success", message: "done", result } }]);
      const s = await storedState(b, "task_run", taskRunId);
      expect(s._result).toEqual({ ...result, serializer: { type: "JSONSerializer", __version__: "1.4.1" }, __version__: "1.4.1" });
      expect(stateFromJSON(s).resultLocation).toEqual(result as never);
    });

    test("a state in Prefect's own form: snake_case times and counts are understood, its _result and cached_inputs kept as sent", async () => {
      const { b, runId, taskRunId } = await setup(kind);
      await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
      await b.services.setTaskRunStates([{ taskRunId, version: 1, state: { type: "Running" } }]);
      const start = b.clock.iso(30_000);
      const prefectResult = { type: "LocalResult", dir: "/home/user/.prefect/results", location: "/home/user/.prefect/results/prefect-result-2026", __version__: "1.4.1" };
      const sent = {
        type: "Retrying",
        message: "Retrying Task (after attempt 1 of 3).",
        start_time: start,
        run_count: 1,
        context: { tags: ["a"] },
        cached_inputs: { x: { type: "PrefectResult", location: "3", __version__: "1.4.1" } },
        _result: prefectResult,
        __version__: "1.4.1",
      };
      await b.services.setTaskRunStates([{ taskRunId, version: 2, state: JSON.stringify(sent) }]);
      const s = await storedState(b, "task_run", taskRunId);
      expect(s).toMatchObject({ ...sent, startTime: start, runCount: 1 });
      expect((await row(b, "SELECT state_start_time FROM task_run WHERE id = $id", { id: taskRunId })).state_start_time).toBeTruthy();
      expect(stateFromJSON(s).startTime).toBe(start);
    });

    test("a Prefect _result that is not a result object is refused with the field named", async () => {
      const { b, runId } = await setup(kind);
      await expect(b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running", _result: "pickle" } }])).rejects.toThrow("state._result must be a result object with a type");
    });
  });
});
