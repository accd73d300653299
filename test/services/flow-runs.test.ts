import { describe, expect, test } from "bun:test";
import { generateRunName } from "../../src/core/run-names.ts";
import { openTestBackend, registerFlow, row, rows, times, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const code = (c: string) => expect.objectContaining({ code: c });
  const run = async (b: TestBackend, id: string) => await row(b, "SELECT * FROM flow_run WHERE id = $id", { id });

  describe("create_flow_run: which flow", () => {
    test("a version group id or a flow group id runs the newest unarchived version", async () => {
      const b = await openTestBackend({ kind });
      await registerFlow(b);
      const v2 = await registerFlow(b);
      const { version_group_id: vg, flow_group_id: fg } = await row(b, "SELECT version_group_id, flow_group_id FROM flow WHERE id = $id", { id: v2.id });
      expect((await run(b, (await b.services.createFlowRun({ versionGroupId: vg })).id)).flow_id).toBe(v2.id);
      expect((await run(b, (await b.services.createFlowRun({ flowGroupId: fg })).id)).flow_id).toBe(v2.id);
    });

    test("no id, an unknown flow, an archived flow or a group with every version archived is refused", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b);
      await expect(b.services.createFlowRun({})).rejects.toThrow(code("Validation"));
      await expect(b.services.createFlowRun({ flowId: crypto.randomUUID() })).rejects.toThrow(code("NotFound"));
      await expect(b.services.createFlowRun({ flowId: "not-a-uuid" })).rejects.toThrow(code("Validation"));
      const vg = (await row(b, "SELECT version_group_id FROM flow")).version_group_id;
      await b.services.archiveFlow(f.id);
      await expect(b.services.createFlowRun({ flowId: f.id })).rejects.toThrow(/archived/);
      await expect(b.services.createFlowRun({ versionGroupId: vg })).rejects.toThrow(/no unarchived flows/);
    });
  });

  describe("create_flow_run: the run", () => {
    test("a new run is Scheduled at version 1 with a history row, an empty context and auto_scheduled false", async () => {
      const b = await openTestBackend({ kind });
      const id = (await b.services.createFlowRun({ flowId: (await registerFlow(b)).id })).id;
      const r = await run(b, id);
      expect(r).toMatchObject({ state: "Scheduled", state_message: "Flow run scheduled.", version: 1, context: "{}", auto_scheduled: 0 });
      expect(r.state_start_time).toBe(b.clock.iso());
      expect(await rows(b, "SELECT state, version FROM flow_run_state WHERE flow_run_id = $id", { id })).toEqual([{ state: "Scheduled", version: 1 }]);
    });

    test("one Pending 'Task run created' task run per task is created with the run, map_index -1", async () => {
      const b = await openTestBackend({ kind });
      const id = (await b.services.createFlowRun({ flowId: (await registerFlow(b, { parameters: { x: 1 }, tasks: ["a-1", "b-1"] })).id })).id;
      expect(await rows(b, "SELECT task_slug, map_index, state, state_message, version FROM task_run WHERE flow_run_id = $id ORDER BY task_slug", { id })).toEqual([
        { task_slug: "a-1", map_index: -1, state: "Pending", state_message: "Task run created", version: 1 },
        { task_slug: "b-1", map_index: -1, state: "Pending", state_message: "Task run created", version: 1 },
        { task_slug: "x", map_index: -1, state: "Pending", state_message: "Task run created", version: 1 },
      ]);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run_state")).n).toBe(3);
    });

    test("a future scheduled_start_time is stored and the run stays Scheduled until then", async () => {
      const b = await openTestBackend({ kind });
      const later = b.clock.iso(3_600_000);
      const id = (await b.services.createFlowRun({ flowId: (await registerFlow(b)).id, scheduledStartTime: later })).id;
      expect(await run(b, id)).toMatchObject({ scheduled_start_time: later, state_start_time: later, state: "Scheduled" });
      await expect(b.services.createFlowRun({ flowId: (await registerFlow(b)).id, scheduledStartTime: "tomorrow" })).rejects.toThrow(code("Validation"));
    });

    test("run names are generated adjective-animal pairs unless given", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      const names = await times(5, async () => (await run(b, (await b.services.createFlowRun({ flowId })).id)).name);
      for (const n of names) expect(n).toMatch(/^[a-z]+-[a-z]+$/);
      expect(new Set(names).size).toBeGreaterThan(1);
      expect((await run(b, (await b.services.createFlowRun({ flowId, flowRunName: "my-run" })).id)).name).toBe("my-run");
      expect(generateRunName(() => 0)).toBe("able-aardvark");
    });

    test("the same idempotency key for the same flow returns the existing run; other keys and other flows make new ones", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b, { name: "a" })).id;
      const other = (await registerFlow(b, { name: "b" })).id;
      const first = await b.services.createFlowRun({ flowId, idempotencyKey: "k" });
      expect(await b.services.createFlowRun({ flowId, idempotencyKey: "k", flowRunName: "ignored" })).toEqual({ id: first.id, created: false });
      b.clock.advance(30 * 24 * 3_600_000);
      expect((await b.services.createFlowRun({ flowId, idempotencyKey: "k" })).id).toBe(first.id);
      expect((await b.services.createFlowRun({ flowId, idempotencyKey: "k2" })).id).not.toBe(first.id);
      expect((await b.services.createFlowRun({ flowId: other, idempotencyKey: "k" })).id).not.toBe(first.id);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run")).n).toBe(3);
    });
  });

  describe("create_flow_run: parameters", () => {
    test("flow defaults < flow-group defaults < run parameters, and the run stores the resolved set", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b, { parameters: { a: 1, b: 2, c: 3 } });
      const fg = (await row(b, "SELECT flow_group_id FROM flow")).flow_group_id;
      await b.services.setFlowGroupDefaultParameters(fg, { b: 20, c: 30 });
      const id = (await b.services.createFlowRun({ flowId: f.id, parameters: { c: 300 } })).id;
      expect(JSON.parse((await run(b, id)).parameters)).toEqual({ a: 1, b: 20, c: 300 });
    });

    test("falsy defaults (0, '', false) count as values", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b, { parameters: { zero: 0, empty: "", no: false } });
      expect(JSON.parse((await run(b, (await b.services.createFlowRun({ flowId: f.id })).id)).parameters)).toEqual({ zero: 0, empty: "", no: false });
    });

    test("a required parameter without a value is refused; a flow-group default supplies it", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b, { parameters: { needed: undefined } });
      await expect(b.services.createFlowRun({ flowId: f.id })).rejects.toThrow(/required parameter 'needed'/);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run")).n).toBe(0);
      await b.services.setFlowGroupDefaultParameters((await row(b, "SELECT flow_group_id FROM flow")).flow_group_id, { needed: 5 });
      expect(JSON.parse((await run(b, (await b.services.createFlowRun({ flowId: f.id })).id)).parameters)).toEqual({ needed: 5 });
    });

    test("names the flow has no parameter for are refused", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b, { parameters: { name: "world" } });
      await expect(b.services.createFlowRun({ flowId: f.id, parameters: { nmae: "typo" } })).rejects.toThrow(/no parameter 'nmae'/);
      await expect(b.services.createFlowRun({ flowId: f.id, parameters: [1, 2] as never })).rejects.toThrow(code("Validation"));
    });
  });

  describe("create_flow_run: labels and run config", () => {
    // Prefect Server's precedence: labels arg > passed run_config > group labels > group run_config > flow run_config.
    const cases: Array<[string, { arg?: string[] | null; passed?: string[]; group?: string[] | null; flow?: string[] }, string[]]> = [
      ["explicit labels win over everything", { arg: ["z", "arg"], passed: ["p"], group: ["g"], flow: ["f"] }, ["arg", "z"]],
      ["explicit [] means no labels", { arg: [], passed: ["p"], group: ["g"], flow: ["f"] }, []],
      ["a passed run config's labels come next", { passed: ["p"], group: ["g"], flow: ["f"] }, ["p"]],
      ["then the flow group's labels", { group: ["g"], flow: ["f"] }, ["g"]],
      ["flow group labels [] count (no labels)", { group: [], flow: ["f"] }, []],
      ["null flow group labels fall back to the flow's run config", { group: null, flow: ["f"] }, ["f"]],
      ["no labels anywhere gives []", {}, []],
    ];
    for (const [name, c, expected] of cases) {
      test(name, async () => {
        const b = await openTestBackend({ kind });
        const f = await registerFlow(b, { labels: c.flow ?? [] });
        if (c.group !== undefined) await b.services.setFlowGroupLabels((await row(b, "SELECT flow_group_id FROM flow")).flow_group_id, c.group);
        const id = (await b.services.createFlowRun({
          flowId: f.id,
          labels: c.arg,
          runConfig: c.passed ? { labels: c.passed } : undefined,
        })).id;
        expect(JSON.parse((await run(b, id)).labels)).toEqual(expected);
      });
    }

    test("the run config passed wins over the flow's", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b);
      const id = (await b.services.createFlowRun({ flowId: f.id, runConfig: { env: { A: "1" } } })).id;
      expect(JSON.parse((await run(b, id)).run_config)).toEqual({ type: "UniversalRun", env: { A: "1" } });
      const plain = (await b.services.createFlowRun({ flowId: f.id })).id;
      expect(JSON.parse((await run(b, plain)).run_config)).toEqual({ type: "UniversalRun", env: {}, labels: [] });
    });
  });
});
