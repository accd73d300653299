import { describe, expect, test } from "bun:test";
import { Flow, Parameter, task } from "../../src/index.ts";
import { IntervalClock } from "../../src/core/schedule/clocks.ts";
import { Schedule } from "../../src/core/schedule/schedule.ts";
import { serializeFlow, type SerializedFlow } from "../../src/core/serialize.ts";
import { intervalSchedule, openTestBackend, row, serializedFlow, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const use = task({ name: "use" }, (n: number, name: string) => `${name}${n}`);

  function typedFlow(schedule?: Schedule): SerializedFlow {
    const flow = new Flow("typed", () => void use(Parameter("n", { default: 5 }), Parameter("name", { type: "string" })), schedule ? { schedule } : {});
    return serializeFlow(flow);
  }

  async function register(b: TestBackend, serialized: SerializedFlow) {
    return await b.services.createFlow({ serializedFlow: serialized, projectId: b.projectId });
  }

  const groupOf = async (b: TestBackend, flowId: string) => (await row(b, "SELECT flow_group_id FROM flow WHERE id = $id", { id: flowId })).flow_group_id as string;

  describe("create_flow_run with typed parameters", () => {
    test("a value of the wrong type is a Validation error naming the parameter, the type and the value", async () => {
      const b = await openTestBackend({ kind });
      const f = await register(b, typedFlow());
      await expect(b.services.createFlowRun({ flowId: f.id, parameters: { n: "abc", name: "x" } })).rejects.toThrow(`parameter 'n' must be a number (got "abc")`);
      await expect(b.services.createFlowRun({ flowId: f.id, parameters: { n: 1, name: 7 } })).rejects.toThrow(`parameter 'name' must be a string (got 7)`);
      const ok = await b.services.createFlowRun({ flowId: f.id, parameters: { name: "x" } });
      expect(JSON.parse((await row(b, "SELECT parameters FROM flow_run WHERE id = $id", { id: ok.id })).parameters)).toEqual({ n: 5, name: "x" });
    });

    test("a flow registered before parameters had types accepts any value", async () => {
      const b = await openTestBackend({ kind });
      const f = await register(b, serializedFlow({ parameters: { n: 5 } }));
      await expect(b.services.createFlowRun({ flowId: f.id, parameters: { n: "abc" } })).resolves.toBeDefined();
    });
  });

  describe("defaults that other places give", () => {
    test("flow-group default parameters of the wrong type are refused", async () => {
      const b = await openTestBackend({ kind });
      const f = await register(b, typedFlow());
      await expect(b.services.setFlowGroupDefaultParameters(await groupOf(b, f.id), { n: "five" })).rejects.toThrow(`parameter 'n' must be a number (got "five")`);
      await b.services.setFlowGroupDefaultParameters(await groupOf(b, f.id), { n: 6 });
    });

    test("a flow group schedule whose clock gives a wrong-typed default is refused", async () => {
      const b = await openTestBackend({ kind });
      const f = await register(b, typedFlow());
      await expect(
        b.services.setFlowGroupSchedule({ flowGroupId: await groupOf(b, f.id), intervalClocks: [{ interval: 60, parameterDefaults: { name: "a", n: "1" } }] }),
      ).rejects.toThrow(`clock 1: parameter 'n' must be a number (got "1")`);
    });

    test("registering a flow whose own schedule gives a wrong-typed clock default is refused", async () => {
      const b = await openTestBackend({ kind });
      const schedule = new Schedule({ clocks: [new IntervalClock(60_000, { parameterDefaults: { name: 3 } })] });
      await expect(register(b, typedFlow(schedule))).rejects.toThrow(`serialized_flow.schedule clock 1: parameter 'name' must be a string (got 3)`);
    });
  });

  describe("create_flow checks the serialized flow", () => {
    test("an unknown parameter type, a default that does not fit its type, or no tasks at all are Validation errors", async () => {
      const b = await openTestBackend({ kind });
      const base = serializedFlow({ parameters: { n: 5 } });
      const withParam = (p: object) => ({ ...base, parameters: [{ ...base.parameters[0]!, ...p }] }) as SerializedFlow;
      await expect(register(b, withParam({ type: "float" }))).rejects.toThrow(/parameters\[0\]\.type must be one of string, number/);
      await expect(register(b, withParam({ type: "string" }))).rejects.toThrow(`serialized_flow: the default of parameter 'n' must be a string (got 5)`);
      const { tasks: _tasks, ...noTasks } = base;
      await expect(register(b, noTasks as SerializedFlow)).rejects.toThrow(expect.objectContaining({ code: "Validation", message: expect.stringContaining("serialized_flow.tasks is missing") }));
    });

    test("a flow's schedule with right-typed clock defaults registers", async () => {
      const b = await openTestBackend({ kind });
      const serialized = { ...typedFlow(), schedule: intervalSchedule({ name: "a", n: 2 }) };
      expect((await register(b, serialized)).created).toBe(true);
    });
  });

  describe("the UI's Run form", () => {
    test("a parameter of the wrong type comes back as the page's message, and the form keeps what was typed", async () => {
      const { submitRunForm } = await import("../../src/ui/run-form.ts");
      const b = await openTestBackend({ kind });
      const f = await register(b, typedFlow());
      const values = { parameters: '{"n": "abc", "name": "x"}', runName: "", labels: "", logLevel: "INFO" as const, startAt: "" };
      expect(await submitRunForm(b.services, f.id, values, null)).toEqual({ ok: false, error: `parameter 'n' must be a number (got "abc")`, values });
      expect((await submitRunForm(b.services, f.id, { ...values, parameters: '{"n": 1, "name": "x"}' }, null)).ok).toBe(true);
    });
  });
});
