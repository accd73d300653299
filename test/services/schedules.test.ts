import { describe, expect, test } from "bun:test";
import { intervalSchedule, openTestBackend, registerFlow, row, serializedFlow } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const active = async (b: Awaited<ReturnType<typeof openTestBackend>>, id: string) => (await row(b, "SELECT is_schedule_active AS a FROM flow WHERE id = $id", { id })).a;

  describe("a schedule left off at registration", () => {
    test("says why: a required parameter no clock gives a value", async () => {
      const b = await openTestBackend({ kind });
      const created = await registerFlow(b, { parameters: { x: undefined }, schedule: intervalSchedule({}) });
      expect(created.scheduleLeftOff).toBe(
        "parameter 'x' is required and the clock gives no value (give a default, a clock parameter default or a flow-group default)",
      );
      expect(await active(b, created.id)).toBe(0);
      const several = await registerFlow(b, { name: "two", parameters: { x: undefined, y: undefined }, schedule: intervalSchedule({ x: 1, y: 1 }, {}) });
      expect(several.scheduleLeftOff).toStartWith("parameters 'x', 'y' are required and some clock gives no value");
    });

    test("says why: a clock sets a parameter the flow does not have", async () => {
      const b = await openTestBackend({ kind });
      expect((await registerFlow(b, { schedule: intervalSchedule({ nope: 1 }) })).scheduleLeftOff).toBe("a clock sets 'nope', which flow 'hello' has no parameter for");
    });

    test("is not reported when the schedule was activated, when there is none, or when activation was not asked for", async () => {
      const b = await openTestBackend({ kind });
      expect((await registerFlow(b, { name: "a", schedule: intervalSchedule() })).scheduleLeftOff).toBeNull();
      expect((await registerFlow(b, { name: "b" })).scheduleLeftOff).toBeNull();
      const off = await b.services.createFlow({
        serializedFlow: serializedFlow({ name: "c", parameters: { x: undefined }, schedule: intervalSchedule({}) }),
        projectId: b.projectId,
        setScheduleActive: false,
      });
      expect(off.scheduleLeftOff).toBeNull();
    });
  });

  describe("schedule_id and flow_id", () => {
    test("either takes a flow id or a flow group id", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b, { schedule: intervalSchedule() })).id;
      const groupId = (await row(b, "SELECT flow_group_id AS g FROM flow WHERE id = $id", { id })).g;
      for (const target of [{ scheduleId: id }, { scheduleId: groupId }, { flowId: id }, { flowId: groupId }]) {
        await b.services.setScheduleInactive(target);
        expect(await active(b, id)).toBe(0);
        expect(await b.services.setScheduleActive(target)).toBe(true);
        expect(await active(b, id)).toBe(1);
      }
    });

    test("an id that is neither is one line saying what the field takes", async () => {
      const b = await openTestBackend({ kind });
      const unknown = crypto.randomUUID();
      await expect(b.services.setScheduleActive({ scheduleId: unknown })).rejects.toThrow(
        `No flow or flow group has the id ${unknown} (schedule_id takes a flow id or a flow group id)`,
      );
      await expect(b.services.setScheduleInactive({ flowId: "nope" })).rejects.toThrow(expect.objectContaining({ code: "Validation" }));
    });

    test("activating a schedule that cannot be active is refused with the same reason", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b, { parameters: { x: undefined }, schedule: intervalSchedule({}) })).id;
      await expect(b.services.setScheduleActive({ scheduleId: id })).rejects.toThrow(
        "Can not schedule a flow that has required parameters: parameter 'x' is required and the clock gives no value (give a default, a clock parameter default or a flow-group default).",
      );
    });
  });
});
