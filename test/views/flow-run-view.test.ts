import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Flow, FlowRunView, FlowView, Parameter, task, TaskRunView } from "../../src/index.ts";
import { Seeder } from "./seed.ts";
import { errorOf } from "../helpers.ts";

const say = task({ name: "say" }, (name: string) => `hi ${name}`);
const inc = task({ name: "inc" }, (x: number) => x + 1);
const demo = new Flow(
  "demo",
  () => {
    say(Parameter("name", { default: "world" }));
    inc.map([0, 1, 2]);
  },
  { runConfig: { labels: ["red"], env: {} } },
);

let seed: Seeder;
let flowId: string;
beforeEach(async () => {
  seed = await Seeder.open();
  flowId = await seed.register(demo);
});
afterEach(() => seed.close());


/** A run of `demo` that finished: name, say-1 and inc-1 (mapped over 3) succeeded. */
async function finishedRun(): Promise<string> {
  const id = await seed.startRun(flowId, { parameters: { name: "marvin" }, runName: "finished-run" });
  await seed.succeed(id, "name", "marvin");
  await seed.succeed(id, "say-1", "hi marvin");
  await seed.mapped(id, "inc-1", [1, 2, 3]);
  await seed.finishRun(id);
  return id;
}

describe("FlowRunView", () => {
  test("has every member of the run: id, name, flow, state and its history, labels, parameters, context, run config", async () => {
    const id = await seed.client.createFlowRun({ flowId, parameters: { name: "x" }, context: { team: "a" }, runName: "my-run", labels: ["red", "big"] });
    await seed.setFlowRunState(id, { type: "Running", message: "Running flow." });
    await seed.finishRun(id, "Failed", "Some reference tasks failed.");
    const view = await FlowRunView.fromFlowRunId(id, seed.deps);
    expect(view.flowRunId).toBe(id);
    expect(view.name).toBe("my-run");
    expect(view.flowId).toBe(flowId);
    expect(view.state.type).toBe("Failed");
    expect(view.state.message).toBe("Some reference tasks failed.");
    expect(view.state.isFailed()).toBe(true);
    expect(view.states.map((s) => s.type)).toEqual(["Scheduled", "Running", "Failed"]);
    expect(view.states.every((s) => typeof s.timestamp === "string")).toBe(true);
    expect(view.labels).toEqual(["big", "red"]);
    expect(view.parameters).toEqual({ name: "x" });
    expect(view.context).toEqual({ team: "a" });
    expect(view.runConfig?.toJSON()).toEqual({ type: "UniversalRun", labels: ["red"], env: {} });
    expect(view.scheduledStartTime).toBeString();
    expect(view.startTime).toBeString();
    expect(view.endTime).toBeString();
    expect(view.createdAt).toBeString();
    expect(view.updatedAt).toBeString();
  });

  test("is an immutable snapshot; getLatest() returns a new view and leaves the old one as it was", async () => {
    const id = await seed.startRun(flowId);
    const running = await FlowRunView.fromFlowRunId(id, seed.deps);
    expect(Object.isFrozen(running)).toBe(true);
    expect(Object.isFrozen(running.state)).toBe(true);
    expect(() => ((running as { name: string }).name = "x")).toThrow();
    expect(() => ((running.parameters as Record<string, unknown>).name = "x")).toThrow();
    expect(() => (running.states as unknown[]).push(1)).toThrow();
    await seed.finishRun(id);
    const latest = await running.getLatest();
    expect(latest).not.toBe(running);
    expect(running.state.type).toBe("Running");
    expect(latest.state.type).toBe("Success");
    expect(latest.states.map((s) => s.type)).toEqual(["Scheduled", "Running", "Success"]);
  });

  test("getFlowMetadata() gives the run's FlowView, read once", async () => {
    const view = await FlowRunView.fromFlowRunId(await seed.startRun(flowId), seed.deps);
    const flow = await view.getFlowMetadata();
    expect(flow).toBeInstanceOf(FlowView);
    expect(flow.flowId).toBe(flowId);
    expect(flow.name).toBe("demo");
    expect(await view.getFlowMetadata()).toBe(flow);
    expect(await (await view.getLatest()).getFlowMetadata()).toBe(flow);
  });

  test("getTaskRun by slug, by slug and map index, and by id", async () => {
    const view = await FlowRunView.fromFlowRunId(await finishedRun(), seed.deps);
    const sayRun = await view.getTaskRun({ taskSlug: "say-1" });
    expect(sayRun).toBeInstanceOf(TaskRunView);
    expect(sayRun.taskSlug).toBe("say-1");
    expect(sayRun.mapIndex).toBe(-1);
    expect(sayRun.flowRunId).toBe(view.flowRunId);
    const child = await view.getTaskRun({ taskSlug: "inc-1", mapIndex: 2 });
    expect(child.mapIndex).toBe(2);
    expect(await child.getResult()).toBe(3);
    const byId = await view.getTaskRun({ taskRunId: sayRun.taskRunId });
    expect(byId).toBe(sayRun); // finished: served from the cache
  });

  test("getAllTaskRuns() lists every task run, mapped children included, by slug then map index", async () => {
    const view = await FlowRunView.fromFlowRunId(await finishedRun(), seed.deps);
    const all = await view.getAllTaskRuns();
    expect(all.map((t) => `${t.taskSlug}[${t.mapIndex}]`)).toEqual(["inc-1[-1]", "inc-1[0]", "inc-1[1]", "inc-1[2]", "name[-1]", "say-1[-1]"]);
    expect(all.map((t) => t.state.type)).toEqual(["Mapped", "Success", "Success", "Success", "Success", "Success"]);
    expect(await view.getTaskRunIds()).toEqual(all.map((t) => t.taskRunId));
  });

  test("caches finished task runs only, across getLatest(); unfinished ones are read again", async () => {
    const id = await seed.startRun(flowId);
    await seed.succeed(id, "name", "world");
    const view = await FlowRunView.fromFlowRunId(id, seed.deps);
    const name = await view.getTaskRun({ taskSlug: "name" });
    const pending = await view.getTaskRun({ taskSlug: "say-1" });
    expect(pending.state.type).toBe("Pending");
    expect(await view.getTaskRun({ taskSlug: "name" })).toBe(name);
    expect(await view.getTaskRun({ taskSlug: "say-1" })).not.toBe(pending);

    await seed.succeed(id, "say-1", "hi world");
    const latest = await view.getLatest();
    expect(await latest.getTaskRun({ taskSlug: "name" })).toBe(name);
    const sayNow = await latest.getTaskRun({ taskSlug: "say-1" });
    expect(sayNow.state.type).toBe("Success");
    expect(pending.state.type).toBe("Pending"); // the old snapshot is untouched
    const all = await latest.getAllTaskRuns();
    expect(all.find((t) => t.taskSlug === "say-1")).toBe(sayNow);
  });

  test("getLogs() returns the run's log lines oldest first, filtered by level", async () => {
    const id = await seed.startRun(flowId);
    await seed.client.graphql(`mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { written } }`, {
      input: {
        logs: [
          { flow_run_id: id, level: "INFO", message: "second", timestamp: "2024-01-01T00:00:02.000Z" },
          { flow_run_id: id, level: "DEBUG", message: "first", timestamp: "2024-01-01T00:00:01.000Z" },
          { flow_run_id: id, level: "ERROR", message: "third", timestamp: "2024-01-01T00:00:03.000Z" },
        ],
      },
    });
    const view = await FlowRunView.fromFlowRunId(id, seed.deps);
    expect((await view.getLogs()).map((l) => l.message)).toEqual(["first", "second", "third"]);
    expect((await view.getLogs({ level: "INFO" })).map((l) => `${l.level} ${l.message}`)).toEqual(["INFO second", "ERROR third"]);
  });

  test("unknown flow runs and task slugs are clear errors", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await errorOf(FlowRunView.fromFlowRunId(missing, seed.deps))).toMatchObject({ code: "NotFound", message: `Flow run ${missing} not found` });
    expect((await errorOf(FlowRunView.fromFlowRunId("abc", seed.deps))).message).toBe('Flow run "abc" not found: flow run ids are UUIDs');
    const view = await FlowRunView.fromFlowRunId(await finishedRun(), seed.deps);
    expect(await errorOf(view.getTaskRun({ taskSlug: "nope-1" }))).toMatchObject({
      code: "NotFound",
      message: `No task with slug 'nope-1' in flow run ${view.flowRunId}; its task slugs are: inc-1, name, say-1`,
    });
    expect((await errorOf(view.getTaskRun({ taskSlug: "inc-1", mapIndex: 7 }))).message).toBe(
      `Task run 'inc-1[7]' not found in flow run ${view.flowRunId}: it has no child with map index 7`,
    );
    expect((await errorOf(view.getTaskRun({}))).code).toBe("Validation");
  });
});
