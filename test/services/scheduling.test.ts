import { describe, expect, test } from "bun:test";
import { graphql } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs, type MutationContext } from "../../src/api/mutations.ts";
import { scalarResolvers, scalarTypeDefs } from "../../src/api/scalars.ts";
import type { SerializedClock } from "../../src/core/schedule/clocks.ts";
import { openTestBackend, row, rows, serializedFlow, type FlowSpec, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const HOUR = 3_600_000;

  /** A backend on a fake clock (2024-01-01T12:00Z) keeping `maxRuns` runs per schedule. */
  function backend(maxRuns = 3): Promise<TestBackend> {
    return openTestBackend({ kind, maxScheduledRuns: maxRuns });
  }

  function interval(ms: number, extra: Partial<SerializedClock> = {}): SerializedClock {
    return { type: "IntervalClock", intervalMs: ms, startDate: "2024-01-01T00:00:00.000Z", parameterDefaults: {}, labels: [], ...extra };
  }

  async function register(b: TestBackend, spec: FlowSpec, options: { setScheduleActive?: boolean } = {}) {
    return await b.services.createFlow({ serializedFlow: serializedFlow(spec), projectId: b.projectId, ...options });
  }

  const runsOf = async (b: TestBackend, flowId: string) =>
    await rows(
      b,
      `SELECT scheduled_start_time AS start, idempotency_key AS key, auto_scheduled AS auto, state, parameters, labels
       FROM flow_run WHERE flow_id = $flowId ORDER BY scheduled_start_time, idempotency_key`,
      { flowId },
    );
  const groupOf = async (b: TestBackend, flowId: string) => (await row(b, "SELECT flow_group_id AS id FROM flow WHERE id = $flowId", { flowId })).id as string;

  describe("scheduling runs", () => {
    test("registering an active schedule creates exactly the next N runs, Scheduled and auto-scheduled, with Prefect's keys", async () => {
      const b = await backend(3);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      expect(await runsOf(b, f.id)).toEqual(
        ["13", "14", "15"].map((h) => ({
          start: `2024-01-01T${h}:00:00.000Z`,
          key: `auto-scheduled:2024-01-01T${h}:00:00.000Z`,
          auto: 1,
          state: "Scheduled",
          parameters: "{}",
          labels: "[]",
        })),
      );
      expect(await b.services.scheduleFlowRuns(f.id)).toBe(0);
      expect(await b.services.scheduleAll()).toEqual({ flows: 0, created: 0, errors: [] });
      expect(await runsOf(b, f.id)).toHaveLength(3);
    });

    test("as time passes a pass tops the schedule up to N runs ahead; passed runs are kept", async () => {
      const b = await backend(3);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      b.clock.advance(HOUR + 60_000); // 13:01: the 13:00 run is no longer ahead
      expect(await b.services.scheduleAll()).toEqual({ flows: 1, created: 1, errors: [] });
      expect((await runsOf(b, f.id)).map((r) => r.start.slice(11, 16))).toEqual(["13:00", "14:00", "15:00", "16:00"]);
      expect((await b.services.scheduleAll()).created).toBe(0);
    });

    test("clock parameter defaults and labels land on the runs; a clock without labels keeps normal label resolution", async () => {
      const b = await backend(2);
      const f = await register(b, {
        parameters: { size: "medium" },
        labels: ["from-run-config"],
        schedule: {
          clocks: [interval(HOUR, { parameterDefaults: { size: "big" }, labels: ["gpu"] }), interval(HOUR, { parameterDefaults: { size: "small" } })],
        },
      });
      const runs = await runsOf(b, f.id);
      // Two clocks at the same instants with different parameters both run (the key has an md5 suffix).
      expect(runs.map((r) => [r.start.slice(11, 16), JSON.parse(r.parameters).size, JSON.parse(r.labels)])).toEqual([
        ["13:00", "big", ["gpu"]],
        ["13:00", "small", ["from-run-config"]],
      ]);
      expect(runs.every((r) => /^auto-scheduled:2024-01-01T13:00:00.000Z:[0-9a-f]{32}$/.test(r.key))).toBe(true);
      expect(new Set(runs.map((r) => r.key)).size).toBe(2);
      expect((await b.services.scheduleAll()).created).toBe(0);
    });

    test("a flow group schedule wins over the flow's own", async () => {
      const b = await backend(2);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      await b.services.setFlowGroupSchedule({ flowGroupId: await groupOf(b, f.id), intervalClocks: [{ interval: 15 * 60 }] });
      expect((await runsOf(b, f.id)).map((r) => r.start.slice(11, 16))).toEqual(["12:15", "12:30"]);
      await b.services.deleteFlowGroupSchedule(await groupOf(b, f.id));
      expect((await runsOf(b, f.id)).map((r) => r.start.slice(11, 16))).toEqual(["13:00", "14:00"]);
    });

    test("archived and inactive flows get no runs", async () => {
      const b = await backend(3);
      const off = await register(b, { name: "off", schedule: { clocks: [interval(HOUR)] } }, { setScheduleActive: false });
      const archived = await register(b, { name: "archived", schedule: { clocks: [interval(HOUR)] } });
      await b.services.archiveFlow(archived.id);
      expect(await runsOf(b, archived.id)).toEqual([]);
      b.clock.advance(HOUR);
      expect(await b.services.scheduleAll()).toEqual({ flows: 0, created: 0, errors: [] });
      expect(await b.services.scheduleFlowRuns(off.id)).toBe(0);
      expect(await b.services.scheduleFlowRuns(archived.id)).toBe(0);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run")).n).toBe(0);
    });

    test("activation is refused while a required parameter has no value in some clock, and creates nothing", async () => {
      const b = await backend(3);
      const f = await register(b, { parameters: { x: undefined }, schedule: { clocks: [interval(HOUR, { parameterDefaults: { x: 1 } }), interval(HOUR)] } });
      await expect(b.services.setScheduleActive({ flowId: f.id })).rejects.toThrow(/Can not schedule a flow that has required parameters.*'x'/);
      expect(await runsOf(b, f.id)).toEqual([]);
    });

    test("a clock setting a parameter the flow does not have is refused on activation", async () => {
      const b = await backend(3);
      const f = await register(b, { parameters: { x: 1 }, schedule: { clocks: [interval(HOUR, { parameterDefaults: { y: 1 } })] } });
      await expect(b.services.setScheduleActive({ flowId: f.id })).rejects.toThrow(/sets 'y', which flow 'hello' has no parameter for/);
      expect(await runsOf(b, f.id)).toEqual([]);
    });

    test("turning a schedule off deletes its future auto-scheduled runs; turning it on creates them again at once", async () => {
      const b = await backend(3);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      const adHoc = (await b.services.createFlowRun({ flowId: f.id, scheduledStartTime: b.clock.iso(HOUR) })).id;
      await b.services.setScheduleInactive({ flowId: f.id });
      expect((await rows(b, "SELECT id FROM flow_run")).map((r) => r.id)).toEqual([adHoc]);
      b.clock.advance(HOUR);
      expect((await b.services.scheduleAll()).created).toBe(0);
      expect(await b.services.setScheduleActive({ flowId: f.id })).toBe(true);
      expect((await runsOf(b, f.id)).filter((r) => r.auto).map((r) => r.start.slice(11, 16))).toEqual(["14:00", "15:00", "16:00"]);
    });

    test("a new version replaces the previous version's auto-scheduled runs with its own", async () => {
      const b = await backend(2);
      const v1 = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      const v2 = await register(b, { tasks: ["say_hello-1", "say_goodbye-1"], schedule: { clocks: [interval(HOUR)] } });
      expect(v2.version).toBe(2);
      expect(await runsOf(b, v1.id)).toEqual([]);
      expect((await runsOf(b, v2.id)).map((r) => r.start.slice(11, 16))).toEqual(["13:00", "14:00"]);
    });

    test("a run someone deleted is not re-created by the next pass (Prefect's last-scheduled rule)", async () => {
      const b = await backend(3);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      const first = (await row(b, "SELECT id FROM flow_run WHERE flow_id = $id ORDER BY scheduled_start_time LIMIT 1", { id: f.id })).id;
      // The API has no run deletion; remove the row as an operator would.
      await b.sql("DELETE FROM flow_run WHERE id = $id", { id: first });
      expect((await b.services.scheduleAll()).created).toBe(0);
      expect((await runsOf(b, f.id)).map((r) => r.start.slice(11, 16))).toEqual(["14:00", "15:00"]);
      // Later events are created as time moves on.
      b.clock.advance(HOUR);
      await b.services.scheduleAll();
      expect((await runsOf(b, f.id)).map((r) => r.start.slice(11, 16))).toEqual(["14:00", "15:00", "16:00"]);
    });

    test("a flow that cannot be scheduled is reported and the pass goes on with the others", async () => {
      const b = await backend(1);
      const good = await register(b, { name: "good", schedule: { clocks: [interval(HOUR)] } });
      const bad = await register(b, { name: "bad", parameters: { x: 1 }, schedule: { clocks: [interval(HOUR)] } });
      // A clock naming an unknown parameter, stored behind the services' back (e.g. by an older version).
      await b.sql("UPDATE flow SET schedule = $s WHERE id = $id", {
        id: bad.id,
        s: JSON.stringify({ clocks: [interval(HOUR, { parameterDefaults: { y: 2 } })] }),
      });
      await b.sql("DELETE FROM flow_run");
      b.clock.advance(HOUR);
      const result = await b.services.scheduleAll();
      expect(result.created).toBe(1);
      expect(result.errors).toEqual([{ flowId: bad.id, message: expect.stringMatching(/'y'/) }]);
      expect(await runsOf(b, good.id)).toHaveLength(1);
    });

    test("nextDueAt is the earliest waiting start strictly after the given time", async () => {
      const b = await backend(2);
      expect(await b.services.nextDueAt()).toBeUndefined();
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      expect((await b.services.nextDueAt())?.toISOString()).toBe("2024-01-01T13:00:00.000Z");
      await b.services.createFlowRun({ flowId: f.id, scheduledStartTime: b.clock.iso(60_000) });
      expect((await b.services.nextDueAt())?.toISOString()).toBe("2024-01-01T12:01:00.000Z");
      expect((await b.services.nextDueAt(new Date("2024-01-01T13:00:00.000Z")))?.toISOString()).toBe("2024-01-01T14:00:00.000Z");
      expect(await b.services.nextDueAt(new Date("2024-01-01T14:00:00.000Z"))).toBeUndefined();
    });
  });

  describe("set_flow_group_schedule / delete_flow_group_schedule mutations", () => {
    const schema = createSchema<MutationContext>({
      typeDefs: [scalarTypeDefs, `type Query { ok: Boolean }`, mutationTypeDefs],
      resolvers: [scalarResolvers, mutationResolvers] as any,
    });
    async function run(b: TestBackend, source: string, input: Record<string, unknown>) {
      const r = await graphql({ schema, source, variableValues: { input }, contextValue: { services: b.services, agentId: undefined } });
      return r as { data?: Record<string, any>; errors?: ReadonlyArray<{ message: string }> };
    }
    const SET = `mutation ($input: set_flow_group_schedule_input!) { set_flow_group_schedule(input: $input) { success error } }`;
    const DELETE = `mutation ($input: delete_flow_group_schedule_input!) { delete_flow_group_schedule(input: $input) { success } }`;

    test("sets cron clocks in a timezone with parameter defaults and labels, replacing the flow's schedule and its runs", async () => {
      const b = await backend(2);
      const f = await register(b, { parameters: { who: "world" }, schedule: { clocks: [interval(HOUR)] } });
      const r = await run(b, SET, {
        flow_group_id: await groupOf(b, f.id),
        cron_clocks: [{ cron: "0 9 * * *", parameter_defaults: { who: "berlin" }, labels: ["eu"] }],
        timezone: "Europe/Berlin",
      });
      expect(r).toEqual({ data: { set_flow_group_schedule: { success: true, error: null } } });
      expect((await runsOf(b, f.id)).map((x) => [x.start, JSON.parse(x.parameters).who, JSON.parse(x.labels)])).toEqual([
        ["2024-01-02T08:00:00.000Z", "berlin", ["eu"]],
        ["2024-01-03T08:00:00.000Z", "berlin", ["eu"]],
      ]);
      const stored = JSON.parse((await row(b, "SELECT schedule FROM flow_group WHERE id = $id", { id: await groupOf(b, f.id) })).schedule);
      expect(stored.clocks[0]).toMatchObject({ type: "CronClock", cron: "0 9 * * *", timezone: "Europe/Berlin" });
    });

    test("interval clocks are in seconds; delete falls back to the flow's own schedule", async () => {
      const b = await backend(2);
      const f = await register(b, { schedule: { clocks: [interval(HOUR)] } });
      await run(b, SET, { flow_group_id: await groupOf(b, f.id), interval_clocks: [{ interval: 600 }] });
      expect((await runsOf(b, f.id)).map((x) => x.start.slice(11, 16))).toEqual(["12:10", "12:20"]);
      expect((await run(b, DELETE, { flow_group_id: await groupOf(b, f.id) })).data).toEqual({ delete_flow_group_schedule: { success: true } });
      expect((await runsOf(b, f.id)).map((x) => x.start.slice(11, 16))).toEqual(["13:00", "14:00"]);
    });

    test("a bad cron, no clocks, a required parameter left open or an unknown group is an error and changes nothing", async () => {
      const b = await backend(2);
      const f = await register(b, { parameters: { x: undefined } });
      const group = await groupOf(b, f.id);
      const message = async (input: Record<string, unknown>) => (await run(b, SET, input)).errors?.[0]?.message;
      expect(await message({ flow_group_id: group, cron_clocks: [{ cron: "0 25 * * *" }] })).toMatch(/^invalid cron schedule '0 25 \* \* \*'/);
      expect(await message({ flow_group_id: group, cron_clocks: [{ cron: "0 * * * *" }], timezone: "Nowhere/Land" })).toMatch(/Nowhere\/Land/);
      expect(await message({ flow_group_id: group })).toMatch(/at least one cron or interval clock/);
      expect(await message({ flow_group_id: group, interval_clocks: [{ interval: 60 }] })).toMatch(/required parameters.*'x'/);
      expect(await message({ flow_group_id: "2c1f3d1e-0000-4000-8000-000000000000", interval_clocks: [{ interval: 60 }] })).toMatch(/not found/);
      expect((await row(b, "SELECT schedule FROM flow_group WHERE id = $id", { id: group })).schedule).toBeNull();
      // With a clock default for x it is accepted; the flow's schedule stays inactive until activated.
      await run(b, SET, { flow_group_id: group, interval_clocks: [{ interval: 60, parameter_defaults: { x: 1 } }] });
      expect(await runsOf(b, f.id)).toEqual([]);
      expect(await b.services.setScheduleActive({ flowId: f.id })).toBe(true);
      expect((await runsOf(b, f.id)).map((x) => [x.start.slice(11, 16), JSON.parse(x.parameters)])).toEqual([
        ["12:01", { x: 1 }],
        ["12:02", { x: 1 }],
      ]);
    });
  });
});
