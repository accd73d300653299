import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, rows } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const code = (c: string) => expect.objectContaining({ code: c });
  const WRITE_1 = "0192f000-0000-7000-8000-000000000001";
  const WRITE_2 = "0192f000-0000-7000-8000-000000000002";

  async function setup() {
    const b = await openTestBackend({ kind });
    const flowId = (await registerFlow(b, { tasks: ["a-1", "b-1"] })).id;
    const runId = (await b.services.createFlowRun({ flowId })).id;
    await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    const [a, other] = (await rows(b, "SELECT id FROM task_run WHERE flow_run_id = $id ORDER BY task_slug", { id: runId })).map((r) => r.id as string);
    return { b, runId, a: a!, other: other! };
  }

  describe("a state write carrying its writer's id", () => {
    test("sent twice (its answer was lost) is made once, and the retry returns the version it made", async () => {
      const { b, a } = await setup();
      const write = { taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 };
      expect((await b.services.setTaskRunStates([write]))[0]!.version).toBe(2);
      // The same write again, over the version it read then: not a VersionConflict, nothing new.
      expect((await b.services.setTaskRunStates([write]))[0]).toMatchObject({ status: "SUCCESS", version: 2 });
      expect(await rows(b, "SELECT state, version FROM task_run_state WHERE task_run_id = $id ORDER BY version", { id: a })).toEqual([
        { state: "Pending", version: 1 },
        { state: "Running", version: 2 },
      ]);
      expect((await row(b, "SELECT version FROM task_run WHERE id = $id", { id: a })).version).toBe(2);
    });

    test("a retried batch whose first try was stored does not move the run on: the next write goes over the stored version", async () => {
      const { b, a } = await setup();
      const batch = [
        { taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 },
        { taskRunId: a, version: 2, state: { type: "Success" }, writeId: WRITE_2 },
      ];
      await b.services.setTaskRunStates(batch);
      expect((await b.services.setTaskRunStates(batch)).map((r) => r.version)).toEqual([2, 3]);
      expect(await row(b, "SELECT state, version FROM task_run WHERE id = $id", { id: a })).toEqual({ state: "Success", version: 3 });
    });

    test("a new write over a stale version is still a VersionConflict", async () => {
      const { b, a } = await setup();
      await b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 }]);
      await expect(b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Success" }, writeId: WRITE_2 }])).rejects.toThrow(code("VersionConflict"));
    });

    test("an id another run's write has is refused, naming the field; an id that is no UUID too", async () => {
      const { b, a, other } = await setup();
      await b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 }]);
      await expect(b.services.setTaskRunStates([{ taskRunId: other, version: 1, state: { type: "Running" }, writeId: WRITE_1 }])).rejects.toThrow(
        /write id .* was already used for another task run/,
      );
      await expect(b.services.setTaskRunStates([{ taskRunId: other, version: 1, state: { type: "Running" }, writeId: "nope" }])).rejects.toThrow(
        /states\[0\]\.write_id must be a UUID/,
      );
      await expect(
        b.services.setTaskRunStates([
          { taskRunId: other, version: 1, state: { type: "Running" }, writeId: WRITE_2 },
          { taskRunId: other, version: 2, state: { type: "Success" }, writeId: WRITE_2 },
        ]),
      ).rejects.toThrow(/used twice in this batch/);
    });

    test("a flow-run state write sent twice is made once and returns the version it made", async () => {
      const { b, runId } = await setup();
      const write = { flowRunId: runId, version: 2, state: { type: "Success" }, writeId: WRITE_1 };
      expect((await b.services.setFlowRunStates([write]))[0]!.version).toBe(3);
      expect((await b.services.setFlowRunStates([write]))[0]).toMatchObject({ status: "SUCCESS", version: 3 });
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run_state WHERE flow_run_id = $id", { id: runId })).n).toBe(3);
    });

    test("without an id a write behaves as before: the same write twice is a VersionConflict", async () => {
      const { b, a } = await setup();
      await b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" } }]);
      await expect(b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" } }])).rejects.toThrow(code("VersionConflict"));
    });
  });

  describe("a log line carrying its writer's id", () => {
    test("sent twice is stored once; lines without an id are all stored", async () => {
      const { b, runId } = await setup();
      const line = { flow_run_id: runId, message: "hello", write_id: WRITE_1 };
      expect(await b.services.writeRunLogs([line, { flow_run_id: runId, message: "no id" }])).toEqual({ written: 2, skipped: 0 });
      expect(await b.services.writeRunLogs([line, { flow_run_id: runId, message: "no id" }])).toMatchObject({ written: 1, skipped: 1 });
      expect((await rows(b, "SELECT message FROM log WHERE flow_run_id = $id ORDER BY message", { id: runId })).map((r) => r.message)).toEqual([
        "hello",
        "no id",
        "no id",
      ]);
      expect((await row(b, "SELECT id FROM log WHERE message = 'hello'")).id).toBe(WRITE_1);
    });

    test("a line whose id is no UUID is skipped, as other invalid lines are", async () => {
      const { b, runId } = await setup();
      expect(await b.services.writeRunLogs([{ flow_run_id: runId, message: "x", write_id: "not-a-uuid" }])).toMatchObject({ written: 0, skipped: 1, problems: ["logs[0]: write_id must be a UUID"] });
    });
  });
});
