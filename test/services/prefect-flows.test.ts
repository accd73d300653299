import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, rows, type TestBackend } from "./fixtures.ts";
import { compress, prefectFlow, splitForRegistration } from "./prefect-fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

/** As Prefect 1.4.1's `flow.register()`: the compressed flow, then its tasks, then its edges. */
async function registerAsPrefect(b: TestBackend, flow = prefectFlow()) {
  const parts = splitForRegistration(flow);
  const { id } = await b.services.createFlow({ serializedFlow: compress(parts.flow), compressed: true, projectId: b.projectId, setScheduleActive: false });
  await b.services.registerTasks({ flowId: id, entries: parts.tasks });
  await b.services.registerEdges({ flowId: id, entries: parts.edges });
  return id;
}

const tasksOf = (b: TestBackend, flowId: string) =>
  rows(b, "SELECT slug, name, type, max_retries, retry_delay_ms, trigger, mapped, tags, is_root_task, is_terminal_task, is_reference_task FROM task WHERE flow_id = $id ORDER BY slug", { id: flowId });

describeBackends((kind) => {
  describe("Prefect Core's serialized flows", () => {
    test("the compressed form with tasks and edges sent afterwards stores the Python flow's tasks, graph and columns", async () => {
      const b = await openTestBackend({ kind });
      const id = await registerAsPrefect(b);
      const flow = await row(b, "SELECT name, version, core_version, storage, run_config FROM flow WHERE id = $id", { id });
      expect(flow.name).toBe("py-hello");
      expect(flow.version).toBe(1);
      expect(flow.core_version).toBe("1.4.1");
      const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);
      expect(json(flow.storage)).toMatchObject({ type: "Local", directory: "/home/user/.prefect/flows", __version__: "1.4.1" });
      expect(json(flow.run_config)).toMatchObject({ type: "LocalRun", labels: ["py"], env: null });
      const tasks = (await tasksOf(b, id)).map((t) => ({ ...t, tags: json(t.tags), mapped: !!t.mapped, is_root_task: !!t.is_root_task, is_terminal_task: !!t.is_terminal_task, is_reference_task: !!t.is_reference_task }) as Record<string, any>);
      expect(tasks.map((t) => t.slug)).toEqual(["[1, 2]-1", "add-a-1", "n", "say-1", "say-2"]);
      const add = tasks.find((t) => t.slug === "add-a-1")!;
      expect(add).toMatchObject({ name: "add", type: "prefect.tasks.core.function.FunctionTask", max_retries: 2, retry_delay_ms: 3000, trigger: "all_successful", tags: ["a"] });
      expect(tasks.find((t) => t.slug === "n")!.type).toBe("prefect.core.parameter.Parameter");
      // The graph's flags come from the edges registered after the tasks.
      expect(tasks.filter((t) => t.is_root_task).map((t) => t.slug)).toEqual(["[1, 2]-1", "n"]);
      expect(tasks.filter((t) => t.is_terminal_task).map((t) => t.slug)).toEqual(["say-1", "say-2"]);
      expect(tasks.filter((t) => t.is_reference_task).map((t) => t.slug)).toEqual(["say-1", "say-2"]);
      const edges = await rows(b, "SELECT u.slug AS up, d.slug AS down, e.mapped FROM edge e JOIN task u ON u.id = e.upstream_task_id JOIN task d ON d.id = e.downstream_task_id WHERE e.flow_id = $id ORDER BY u.slug", { id });
      expect(edges.map((e) => [e.up, e.down, !!e.mapped])).toEqual([["[1, 2]-1", "say-2", true], ["add-a-1", "say-1", false], ["n", "add-a-1", false]]);
      // An edge's key is the argument's name, as Prefect sent it (Server's edge.key).
      const keys = await rows(b, "SELECT d.slug AS down, e.key FROM edge e JOIN task d ON d.id = e.downstream_task_id WHERE e.flow_id = $id ORDER BY d.slug", { id });
      expect(keys).toEqual([{ down: "add-a-1", key: "x" }, { down: "say-1", key: "v" }, { down: "say-2", key: "v" }]);
    });

    test("create_flow with the whole Prefect form stores tasks and edges at once; an edge's key is its argument's name", async () => {
      const b = await openTestBackend({ kind });
      const flow = prefectFlow();
      // An ordering-only edge (no key), and a pair sent twice: Server keeps the first (its unique key).
      flow.edges.push({ ...flow.edges[2], key: null, upstream_task: { slug: "say-1" }, downstream_task: { slug: "say-2" } });
      flow.edges.push({ ...flow.edges[2], key: "y" });
      const { id } = await b.services.createFlow({ serializedFlow: flow, projectId: b.projectId });
      expect((await tasksOf(b, id)).length).toBe(5);
      const keys = await rows(b, "SELECT u.slug AS up, d.slug AS down, e.key FROM edge e JOIN task u ON u.id = e.upstream_task_id JOIN task d ON d.id = e.downstream_task_id WHERE e.flow_id = $id ORDER BY d.slug, u.slug", { id });
      expect(keys).toEqual([
        { up: "n", down: "add-a-1", key: "x" },
        { up: "add-a-1", down: "say-1", key: "v" },
        { up: "[1, 2]-1", down: "say-2", key: "v" },
        { up: "say-1", down: "say-2", key: null },
      ]);
      const stored = await b.store.flows.serializedFlow(id);
      // Prefect's readers (FlowView) load the flow's own form back.
      expect(stored).toMatchObject({ type: "prefect.core.flow.Flow", __version__: "1.4.1", name: "py-hello" });
    });

    test("versioning as any flow: a second registration is version 2 of the same group and archives the first", async () => {
      const b = await openTestBackend({ kind });
      const first = await registerAsPrefect(b);
      const second = await registerAsPrefect(b);
      const [a, c] = [await row(b, "SELECT * FROM flow WHERE id = $id", { id: first }), await row(b, "SELECT * FROM flow WHERE id = $id", { id: second })];
      expect(c.version).toBe(2);
      expect(c.flow_group_id).toBe(a.flow_group_id);
      expect(!!a.archived).toBe(true);
      expect(!!c.archived).toBe(false);
    });

    test("register_tasks and register_edges are idempotent: known slugs and edges are skipped", async () => {
      const b = await openTestBackend({ kind });
      const id = await registerAsPrefect(b);
      const parts = splitForRegistration(prefectFlow());
      await b.services.registerTasks({ flowId: id, entries: parts.tasks });
      await b.services.registerEdges({ flowId: id, entries: parts.edges });
      expect((await tasksOf(b, id)).length).toBe(5);
      expect((await rows(b, "SELECT id FROM edge WHERE flow_id = $id", { id })).length).toBe(3);
      await b.services.registerTasks({ flowId: id, entries: [{ slug: "extra-1", name: "extra", type: "prefect.tasks.core.function.FunctionTask", __version__: "1.4.1" }] });
      expect((await tasksOf(b, id)).map((t) => t.slug)).toContain("extra-1");
      // The stored serialized flow gained each task and edge once, as sent (Prefect's FlowView loads it).
      const stored = (await b.store.flows.serializedFlow(id)) as { tasks: { slug: string }[]; edges: unknown[] };
      expect(stored.tasks.map((t) => t.slug).sort()).toEqual(["[1, 2]-1", "add-a-1", "extra-1", "n", "say-1", "say-2"]);
      expect(stored.edges).toHaveLength(3);
      expect(stored.edges).toEqual(parts.edges);
    });

    test("an edge naming a task the flow lacks is refused and adds nothing", async () => {
      const b = await openTestBackend({ kind });
      const id = await registerAsPrefect(b);
      const bad = { upstream_task: { slug: "n" }, downstream_task: { slug: "nope-1" }, key: "x", mapped: false };
      await expect(b.services.registerEdges({ flowId: id, entries: [bad] })).rejects.toThrow(
        "Edges could not be registered - some edges reference tasks that do not exist within this flow.",
      );
      expect((await rows(b, "SELECT id FROM edge WHERE flow_id = $id", { id })).length).toBe(3);
    });

    test("bad input gets one clear line", async () => {
      const b = await openTestBackend({ kind });
      await expect(b.services.createFlow({ serializedFlow: "not gzip at all", compressed: true, projectId: b.projectId })).rejects.toThrow("Unable to decompress serialized flow");
      const { storage: _storage, ...noStorage } = prefectFlow();
      await expect(b.services.createFlow({ serializedFlow: noStorage, projectId: b.projectId })).rejects.toThrow("serialized_flow.storage must be Prefect's serialized storage");
      const ts = (await registerFlow(b, { name: "ts" })).id;
      await expect(b.services.registerTasks({ flowId: ts, entries: [] })).rejects.toThrow("register_tasks adds to flows registered in Prefect Core's form");
      await expect(b.services.registerTasks({ flowId: ts, entries: "x" })).rejects.toThrow("serialized_tasks must be a list");
      await expect(b.services.registerEdges({ flowId: "00000000-0000-4000-8000-00000000abcd", entries: [] })).rejects.toThrow("not found");
      const py = await registerAsPrefect(b, prefectFlow("keys"));
      const numbered = { upstream_task: { slug: "n" }, downstream_task: { slug: "say-1" }, key: 0, mapped: false };
      await expect(b.services.registerEdges({ flowId: py, entries: [numbered] })).rejects.toThrow("serialized_edges[0].key must be an argument name (a string) or null, got 0");
    });

    test("a Prefect schedule's cron and interval clocks become the flow's schedule", async () => {
      const b = await openTestBackend({ kind });
      const flow = prefectFlow("scheduled");
      flow.schedule = {
        type: "Schedule",
        clocks: [
          { type: "CronClock", cron: "0 6 * * *", start_date: { dt: "2026-01-01T00:00:00", tz: "Europe/Berlin" }, parameter_defaults: { n: 1 }, labels: null },
          { type: "IntervalClock", interval: 3_600_000_000, start_date: { dt: "2026-01-01T00:30:00", tz: "UTC" }, parameter_defaults: {}, labels: ["x"] },
        ],
        filters: [],
        __version__: "1.4.1",
      };
      const { id } = await b.services.createFlow({ serializedFlow: flow, projectId: b.projectId, setScheduleActive: false });
      const stored = (await b.store.flows.get(id))!.schedule!;
      expect(stored.clocks[0]).toMatchObject({ type: "CronClock", cron: "0 6 * * *", timezone: "Europe/Berlin", parameterDefaults: { n: 1 } });
      expect(stored.clocks[1]).toMatchObject({ type: "IntervalClock", intervalMs: 3_600_000, startDate: "2026-01-01T00:30:00.000Z", labels: ["x"] });
      flow.schedule.clocks = [{ type: "DatesClock", dates: [] }];
      await expect(b.services.createFlow({ serializedFlow: flow, projectId: b.projectId })).rejects.toThrow("only CronClock and IntervalClock are supported");
    });
  });

  describe("which agents take a Python flow's runs", () => {
    test("prefectlite's agents never claim them; Prefect's agent is shown only them", async () => {
      const b = await openTestBackend({ kind });
      const python = await registerAsPrefect(b);
      const ts = (await registerFlow(b, { name: "ts" })).id;
      const pyRun = (await b.services.createFlowRun({ flowId: python, labels: [], scheduledStartTime: b.clock.iso(-2000) })).id;
      const tsRun = (await b.services.createFlowRun({ flowId: ts, labels: [], scheduledStartTime: b.clock.iso(-1000) })).id;
      expect(await b.services.getRunsInQueue({ runtime: "python" })).toEqual([pyRun]);
      expect(await b.services.getRunsInQueue({ runtime: "typescript" })).toEqual([tsRun]);
      expect(await b.services.getRunsInQueue({})).toEqual([pyRun, tsRun]);
      const agentId = (await b.services.registerAgent({ type: "prefectlite" })).id;
      // The Python run is older and first in line: a claim of one still takes the TypeScript run.
      expect((await b.services.claimRuns({ agentId, limit: 1 })).map((r) => r.id)).toEqual([tsRun]);
      expect(await b.services.claimRuns({ agentId, limit: 5 })).toEqual([]);
      expect((await row(b, "SELECT state FROM flow_run WHERE id = $id", { id: pyRun })).state).toBe("Scheduled");
    });

    test("a due Python run does not wake prefectlite's remote agents' long poll (they would find nothing to claim)", async () => {
      const b = await openTestBackend({ kind });
      const python = await registerAsPrefect(b);
      await b.services.createFlowRun({ flowId: python, labels: [], scheduledStartTime: b.clock.iso(-1000) });
      expect(await b.services.waitForRuns({ labels: [], waitMs: 0 })).toEqual({ due: false });
      const ts = (await registerFlow(b, { name: "ts" })).id;
      await b.services.createFlowRun({ flowId: ts, labels: [], scheduledStartTime: b.clock.iso(-1000) });
      expect(await b.services.waitForRuns({ labels: [], waitMs: 0 })).toEqual({ due: true });
    });

    test("a Python flow's run takes its labels from its run config and gets a Pending task run per task", async () => {
      const b = await openTestBackend({ kind });
      const python = await registerAsPrefect(b);
      const run = (await b.services.createFlowRun({ flowId: python })).id;
      const r = await row(b, "SELECT labels FROM flow_run WHERE id = $id", { id: run });
      expect(typeof r.labels === "string" ? JSON.parse(r.labels) : r.labels).toEqual(["py"]);
      expect((await rows(b, "SELECT state FROM task_run WHERE flow_run_id = $id", { id: run })).map((t) => t.state)).toEqual(Array(5).fill("Pending"));
    });

    test("a task's cache_key is its task runs' as on Server: those created with the run, by get_or_create_task_run_info and as mapped children", async () => {
      const b = await openTestBackend({ kind });
      const python = await registerAsPrefect(b);
      const run = (await b.services.createFlowRun({ flowId: python })).id;
      const keys = async () =>
        (await rows(b, "SELECT task_slug, map_index, cache_key FROM task_run WHERE flow_run_id = $id", { id: run }))
          .map((t) => `${t.task_slug}:${t.map_index}=${t.cache_key}`)
          .sort();
      expect(await keys()).toEqual(["[1, 2]-1:-1=null", "add-a-1:-1=null", "n:-1=null", "say-1:-1=null", "say-2:-1=say-cache"]);
      await b.services.getOrCreateTaskRunInfo({ flowRunId: run, taskSlug: "say-2", mapIndex: 0 });
      await b.services.getOrCreateMappedTaskRuns({ flowRunId: run, taskSlug: "say-2", count: 2 });
      await b.services.getOrCreateTaskRunInfo({ flowRunId: run, taskSlug: "say-1", mapIndex: 0 });
      expect(await keys()).toEqual([
        "[1, 2]-1:-1=null", "add-a-1:-1=null", "n:-1=null", "say-1:-1=null", "say-1:0=null", "say-2:-1=say-cache", "say-2:0=say-cache", "say-2:1=say-cache",
      ]);
    });
  });
});
