import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  async function setup() {
    const b = await openTestBackend({ kind });
    const flowId = (await registerFlow(b, { tasks: ["inc-1"] })).id;
    const flowRunId = (await b.services.createFlowRun({ flowId })).id;
    const taskId = (await row(b, "SELECT id FROM task WHERE slug = 'inc-1'")).id as string;
    return { b, flowRunId, taskId };
  }

  describe("get_or_create_task_run_info", () => {
    test("the unmapped task run created with the flow run is returned by slug or by task id", async () => {
      const { b, flowRunId, taskId } = await setup();
      const bySlug = await b.services.getOrCreateTaskRunInfo({ flowRunId, taskSlug: "inc-1" });
      expect(bySlug).toMatchObject({ taskId, mapIndex: -1, version: 1, state: "Pending" });
      expect(await b.services.getOrCreateTaskRunInfo({ flowRunId, taskId, mapIndex: null })).toEqual(bySlug);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run")).n).toBe(1);
    });

    test("a new map index creates one Pending row with a history row, once", async () => {
      const { b, flowRunId } = await setup();
      const child = await b.services.getOrCreateTaskRunInfo({ flowRunId, taskSlug: "inc-1", mapIndex: 3 });
      expect(child).toMatchObject({ mapIndex: 3, state: "Pending", version: 1, serializedState: { type: "Pending", message: "Task run created" } });
      expect((await b.services.getOrCreateTaskRunInfo({ flowRunId, taskSlug: "inc-1", mapIndex: 3 })).id).toBe(child.id);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run_state WHERE task_run_id = $id", { id: child.id })).n).toBe(1);
    });

    test("unknown flow runs, tasks of another flow and bad ids are refused", async () => {
      const { b, flowRunId } = await setup();
      await expect(b.services.getOrCreateTaskRunInfo({ flowRunId: crypto.randomUUID(), taskSlug: "inc-1" })).rejects.toThrow(/not found/);
      await expect(b.services.getOrCreateTaskRunInfo({ flowRunId, taskSlug: "nope-1" })).rejects.toThrow(/not a task/);
      await expect(b.services.getOrCreateTaskRunInfo({ flowRunId, taskId: "bad" })).rejects.toThrow(/UUID/);
      await expect(b.services.getOrCreateTaskRunInfo({ flowRunId })).rejects.toThrow(/task_id or task_slug/);
    });
  });

  describe("mapped children in bulk", () => {
    test("children 0…n-1 are created in one call, in order, and existing ones are kept", async () => {
      const { b, flowRunId } = await setup();
      const existing = await b.services.getOrCreateTaskRunInfo({ flowRunId, taskSlug: "inc-1", mapIndex: 2 });
      const children = await b.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug: "inc-1", count: 5 });
      expect(children.map((c) => c.mapIndex)).toEqual([0, 1, 2, 3, 4]);
      expect(children[2]!.id).toBe(existing.id);
      expect(await b.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug: "inc-1", count: 5 })).toEqual(children);
    });

    test("ten thousand children are created at once", async () => {
      const { b, flowRunId } = await setup();
      const children = await b.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug: "inc-1", count: 10_000 });
      expect(children).toHaveLength(10_000);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run WHERE map_index >= 0")).n).toBe(10_000);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run_state")).n).toBe(10_001);
    });

    test("a negative or fractional count is refused", async () => {
      const { b, flowRunId } = await setup();
      await expect(b.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug: "inc-1", count: -1 })).rejects.toThrow(/count/);
      await expect(b.services.getOrCreateMappedTaskRuns({ flowRunId, taskSlug: "inc-1", count: 1.5 })).rejects.toThrow(/count/);
    });
  });
});
