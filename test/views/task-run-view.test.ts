import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Backend } from "../../src/client/backend.ts";
import { BackendClient } from "../../src/client/client.ts";
import type { ResultLocation } from "../../src/core/state.ts";
import { Flow, Parameter, task, TaskRunView } from "../../src/index.ts";
import { Seeder } from "./seed.ts";
import { errorOf } from "../helpers.ts";

const make = task({ name: "make" }, (n: number) => Array.from({ length: n }, (_, i) => i));
const inc = task({ name: "inc" }, (x: number) => x + 1);
const demo = new Flow("results", () => {
  make(Parameter("n", { default: 3 }));
  inc.map([0, 1, 2]);
});

let seed: Seeder;
let flowId: string;
beforeEach(async () => {
  seed = await Seeder.open();
  flowId = await seed.register(demo);
});
afterEach(() => seed.close());


describe("TaskRunView lookups", () => {
  test("fromTaskSlug and fromTaskRunId give every member", async () => {
    const run = await seed.startRun(flowId);
    await seed.succeed(run, "make-1", [0, 1, 2]);
    const view = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect(view.taskSlug).toBe("make-1");
    expect(view.name).toBe("make");
    expect(view.mapIndex).toBe(-1);
    expect(view.flowRunId).toBe(run);
    expect(view.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(view.state.type).toBe("Success");
    expect(view.state.resultLocation?.type).toBe("LocalResult");
    expect(view.startTime).toBeString();
    expect(view.endTime).toBeString();
    const byId = await TaskRunView.fromTaskRunId(view.taskRunId, seed.deps);
    expect(byId.taskSlug).toBe("make-1");
    expect(byId).not.toBe(view);
    expect(Object.isFrozen(view)).toBe(true);
    expect(() => ((view as { mapIndex: number }).mapIndex = 3)).toThrow();
  });

  test("unknown ids, slugs and flow runs are clear errors", async () => {
    const run = await seed.startRun(flowId);
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await errorOf(TaskRunView.fromTaskRunId(missing, seed.deps))).toMatchObject({ code: "NotFound", message: `Task run ${missing} not found` });
    expect(await errorOf(TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: missing }))).toMatchObject({
      code: "NotFound",
      message: `Flow run ${missing} not found`,
    });
    expect((await errorOf(TaskRunView.fromTaskSlug("make-9", { ...seed.deps, flowRunId: run }))).message).toBe(
      `No task with slug 'make-9' in flow run ${run}; its task slugs are: inc-1, make-1, n`,
    );
    expect((await errorOf(TaskRunView.fromTaskSlug("", { ...seed.deps, flowRunId: run }))).code).toBe("Validation");
    expect((await errorOf(TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run, mapIndex: -2 }))).code).toBe("Validation");
  });
});

describe("TaskRunView.getResult()", () => {
  test("loads the value from the recorded location, and a second call reads nothing", async () => {
    const run = await seed.startRun(flowId);
    const location = await seed.succeed(run, "make-1", [0, 1, 2]);
    const view = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect(await view.getResult()).toEqual([0, 1, 2]);
    expect(seed.results.reads).toBe(1);
    rmSync(location.location);
    expect(await view.getResult()).toEqual([0, 1, 2]);
    expect(seed.results.reads).toBe(1);
    const latest = await view.getLatest();
    expect(latest).not.toBe(view);
    expect(await latest.getResult()).toEqual([0, 1, 2]); // getLatest() keeps the loaded result
    expect(seed.results.reads).toBe(1);
  });

  test("a deleted result file is a clear error", async () => {
    const run = await seed.startRun(flowId);
    const location = await seed.succeed(run, "make-1", [1]);
    rmSync(location.location);
    const view = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect(await errorOf(view.getResult())).toMatchObject({
      code: "NotFound",
      message: `Task run 'make-1': result file ${location.location} no longer exists`,
    });
  });

  test("an unfinished task run has no result yet", async () => {
    const run = await seed.startRun(flowId);
    await seed.setTaskState(run, "make-1", "Running", "Starting task run.");
    const view = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect(await errorOf(view.getResult())).toMatchObject({
      code: "Validation",
      message: "The result of task run 'make-1' cannot be loaded: it is not finished (it is Running)",
    });
    const pending = await TaskRunView.fromTaskSlug("n", { ...seed.deps, flowRunId: run });
    expect((await errorOf(pending.getResult())).message).toContain("it is not finished (it is Pending)");
  });

  test("a task run with no stored result says so, and why", async () => {
    const run = await seed.startRun(flowId);
    await seed.setTaskState(run, "make-1", "Running");
    await seed.setTaskState(run, "make-1", "Failed", "Error during execution of task: boom");
    await seed.setTaskState(run, "n", "Running");
    await seed.setTaskState(run, "n", "Success", "Task run succeeded.");
    const failed = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect((await errorOf(failed.getResult())).message).toBe(
      "Task run 'make-1' has no stored result: it ended Failed (Error during execution of task: boom)",
    );
    const unsaved = await TaskRunView.fromTaskSlug("n", { ...seed.deps, flowRunId: run });
    expect(await errorOf(unsaved.getResult())).toMatchObject({ code: "NotFound" });
    expect((await errorOf(unsaved.getResult())).message).toStartWith("Task run 'n' has no stored result: its state records no result location");
  });
});

describe("mapped task runs", () => {
  test("the parent's result is the children's list in map order; one child by map index is its own value", async () => {
    const run = await seed.startRun(flowId);
    await seed.mapped(run, "inc-1", [1, 2, 3]);
    const parent = await TaskRunView.fromTaskSlug("inc-1", { ...seed.deps, flowRunId: run });
    expect(parent.state.type).toBe("Mapped");
    expect(await parent.getResult()).toEqual([1, 2, 3]);
    expect(seed.results.reads).toBe(3);
    expect(await parent.getResult()).toEqual([1, 2, 3]);
    expect(seed.results.reads).toBe(3);
    const child = await TaskRunView.fromTaskSlug("inc-1", { ...seed.deps, flowRunId: run, mapIndex: 1 });
    expect(child.mapIndex).toBe(1);
    expect(await child.getResult()).toBe(2);
  });

  test("children's results load in map order with at most 32 reads in flight", async () => {
    const run = await seed.startRun(flowId);
    const values = Array.from({ length: 700 }, (_, i) => ({ i }));
    await seed.mapped(run, "inc-1", values);
    let inFlight = 0;
    let most = 0;
    const results = {
      async read(location: ResultLocation) {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          await Bun.sleep(0);
          return await seed.results.read(location);
        } finally {
          inFlight--;
        }
      },
    };
    const parent = await TaskRunView.fromTaskSlug("inc-1", { client: seed.client, results, flowRunId: run });
    expect(await parent.getResult()).toEqual(values);
    expect(most).toBe(32);
  });

  test("iterMapped() yields the children in map order, reading a page at a time", async () => {
    const run = await seed.startRun(flowId);
    await seed.mapped(run, "inc-1", Array.from({ length: 250 }, (_, i) => i * 10));
    const rowsPerQuery: number[] = [];
    // The seed's backend, counting the rows of each task_run read (and leaving the backend open).
    const counting = new BackendClient(
      Object.assign(Object.create(await seed.client.backend()) as Backend, {
        async close() {},
        async graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
          const data = await seed.client.graphql<Record<string, unknown>>(query, variables);
          if (Array.isArray(data.task_run)) rowsPerQuery.push(data.task_run.length);
          return data as T;
        },
      }),
    );
    const parent = await TaskRunView.fromTaskSlug("inc-1", { client: counting, results: seed.results, flowRunId: run });
    const indexes: number[] = [];
    const firstValues: unknown[] = [];
    for await (const child of parent.iterMapped()) {
      expect(child).toBeInstanceOf(TaskRunView);
      indexes.push(child.mapIndex);
      if (child.mapIndex < 3) firstValues.push(await child.getResult());
    }
    expect(indexes).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(firstValues).toEqual([0, 10, 20]);
    expect(Math.max(...rowsPerQuery.slice(1))).toBeLessThanOrEqual(100);
    expect(rowsPerQuery.length).toBeGreaterThanOrEqual(3);
  });

  test("iterMapped() of a task run that is not Mapped is an error; a failed child fails the parent's list", async () => {
    const run = await seed.startRun(flowId);
    await seed.succeed(run, "make-1", []);
    const plain = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    const iterate = async () => {
      for await (const _ of plain.iterMapped()) void _;
    };
    expect(await errorOf(iterate())).toMatchObject({ code: "Validation", message: "iterMapped() needs a Mapped task run; 'make-1' is Success" });

    await seed.mapped(run, "inc-1", [1, 2]);
    const child = await TaskRunView.fromTaskSlug("inc-1", { ...seed.deps, flowRunId: run, mapIndex: 1 });
    rmSync(child.state.resultLocation!.location);
    const parent = await TaskRunView.fromTaskSlug("inc-1", { ...seed.deps, flowRunId: run });
    expect((await errorOf(parent.getResult())).message).toStartWith("Task run 'inc-1[1]': result file ");
  });
});
