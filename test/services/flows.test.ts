import { describe, expect, test } from "bun:test";
import { serializedHash } from "../../src/core/serialize.ts";
import { openTestBackend, registerFlow, row, rows, serializedFlow, intervalSchedule, times } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const code = (c: string) => expect.objectContaining({ code: c });

  describe("registration", () => {
    test("flows of the same name in the same project share a version group and count versions from 1", async () => {
      const b = await openTestBackend({ kind });
      const v1 = await registerFlow(b);
      const v2 = await registerFlow(b);
      expect([v1.version, v2.version]).toEqual([1, 2]);
      const flows = await rows(b, "SELECT version_group_id, flow_group_id FROM flow ORDER BY version");
      expect(flows[0]).toEqual(flows[1]!);
      expect(await rows(b, "SELECT id FROM flow_group")).toHaveLength(1);
    });

    test("a flow of the same name in another project gets its own version group", async () => {
      const b = await openTestBackend({ kind });
      const other = (await b.services.createProject({ name: "other" })).id;
      await registerFlow(b);
      const there = await b.services.createFlow({ serializedFlow: serializedFlow(), projectId: other });
      expect(there.version).toBe(1);
      expect((await row(b, "SELECT COUNT(DISTINCT version_group_id) AS n FROM flow")).n).toBe(2);
    });

    test("the flow group is created once with Prefect's default settings and the registration key", async () => {
      const b = await openTestBackend({ kind });
      await registerFlow(b, {}, { idempotencyKey: "A" });
      const group = await row(b, "SELECT settings FROM flow_group");
      expect(JSON.parse(group.settings)).toEqual({
        heartbeat_enabled: true,
        lazarus_enabled: true,
        version_locking_enabled: false,
        idempotency_key: "A",
      });
    });

    test("a new version archives the previous ones", async () => {
      const b = await openTestBackend({ kind });
      const v1 = await registerFlow(b);
      const v2 = await registerFlow(b);
      expect((await row(b, "SELECT archived FROM flow WHERE id = $id", { id: v1.id })).archived).toBe(1);
      expect((await row(b, "SELECT archived FROM flow WHERE id = $id", { id: v2.id })).archived).toBe(0);
    });

    test("an explicit version group is used as given", async () => {
      const b = await openTestBackend({ kind });
      const f = await b.services.createFlow({ serializedFlow: serializedFlow(), projectId: b.projectId, versionGroupId: "my-group" });
      expect((await row(b, "SELECT version_group_id FROM flow WHERE id = $id", { id: f.id })).version_group_id).toBe("my-group");
      expect((await row(b, "SELECT name FROM flow_group")).name).toBe("my-group");
    });

    test("the same idempotency key as the last registration returns that flow without a new version or tasks", async () => {
      const b = await openTestBackend({ kind });
      const first = await registerFlow(b, {}, { idempotencyKey: "A" });
      const again = await registerFlow(b, {}, { idempotencyKey: "A" });
      expect(again).toEqual({ id: first.id, version: 1, created: false });
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow")).n).toBe(1);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task")).n).toBe(1);
    });

    for (const keys of [["A", "B"], [null, null], ["A", null, "A"], ["A", "B", "A"]] as const) {
      test(`registration keys ${JSON.stringify(keys)} give increasing versions`, async () => {
        const b = await openTestBackend({ kind });
        const versions = await times(keys.length, async (i) => (await registerFlow(b, {}, { idempotencyKey: keys[i]! })).version);
        expect(versions).toEqual(keys.map((_, i) => i + 1));
      });
    }

    test("a key matching an archived flow registers a new version", async () => {
      const b = await openTestBackend({ kind });
      const first = await registerFlow(b, {}, { idempotencyKey: "A" });
      await b.services.archiveFlow(first.id);
      expect(await registerFlow(b, {}, { idempotencyKey: "A" })).toMatchObject({ version: 2, created: true });
    });

    test("after every version is deleted the version restarts at 1", async () => {
      const b = await openTestBackend({ kind });
      const first = await registerFlow(b, {}, { idempotencyKey: "A" });
      await b.services.deleteFlow(first.id);
      expect(await registerFlow(b, {}, { idempotencyKey: "A" })).toMatchObject({ version: 1, created: true });
    });

    test("tasks and edges rows come from the serialized flow, with root, terminal and reference flags", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b, { tasks: ["a-1", "b-1", "c-1"] });
      const tasks = await rows(b, "SELECT slug, is_root_task AS root, is_terminal_task AS terminal, is_reference_task AS ref FROM task WHERE flow_id = $id ORDER BY slug", { id: f.id });
      expect(tasks).toEqual([
        { slug: "a-1", root: 1, terminal: 0, ref: 0 },
        { slug: "b-1", root: 0, terminal: 0, ref: 0 },
        { slug: "c-1", root: 0, terminal: 1, ref: 1 },
      ]);
      expect((await row(b, "SELECT COUNT(*) AS n FROM edge WHERE flow_id = $id", { id: f.id })).n).toBe(2);
    });

    test("the serialized hash is computed by the server and the storage is recorded", async () => {
      const b = await openTestBackend({ kind });
      const sf = serializedFlow();
      const f = await b.services.createFlow({ serializedFlow: sf, projectId: b.projectId });
      const stored = await row(b, "SELECT serialized_hash, storage FROM flow WHERE id = $id", { id: f.id });
      expect(stored.serialized_hash).toBe(serializedHash(sf));
      expect(JSON.parse(stored.storage)).toEqual({ type: "Module", module: "test.flows" });
    });

    test("an unknown project, a malformed serialized flow or a bad schedule is refused and nothing is written", async () => {
      const b = await openTestBackend({ kind });
      await expect(b.services.createFlow({ serializedFlow: serializedFlow(), projectId: crypto.randomUUID() })).rejects.toThrow(code("NotFound"));
      await expect(b.services.createFlow({ serializedFlow: "{not json", projectId: b.projectId })).rejects.toThrow(code("Validation"));
      await expect(b.services.createFlow({ serializedFlow: { name: "x", tasks: [{ slug: "a" }] }, projectId: b.projectId })).rejects.toThrow(code("Validation"));
      const badEdge = { ...serializedFlow(), edges: [{ upstream: "nope", downstream: "say_hello-1", key: 0, mapped: false }] };
      await expect(b.services.createFlow({ serializedFlow: badEdge, projectId: b.projectId })).rejects.toThrow(code("Validation"));
      const badCron = serializedFlow({ schedule: { clocks: [{ type: "CronClock", cron: "not a cron", parameterDefaults: {}, labels: [] }] } });
      await expect(b.services.createFlow({ serializedFlow: badCron, projectId: b.projectId })).rejects.toThrow(code("Validation"));
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow")).n).toBe(0);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_group")).n).toBe(0);
    });

    test("a flow with a schedule is registered active unless set_schedule_active is false; one without stays inactive", async () => {
      const b = await openTestBackend({ kind });
      const scheduled = await registerFlow(b, { name: "s", schedule: intervalSchedule() });
      const off = await b.services.createFlow({ serializedFlow: serializedFlow({ name: "o", schedule: intervalSchedule() }), projectId: b.projectId, setScheduleActive: false });
      const plain = await registerFlow(b, { name: "p" });
      const active = async (id: string) => (await row(b, "SELECT is_schedule_active AS a FROM flow WHERE id = $id", { id })).a;
      expect([await active(scheduled.id), await active(off.id), await active(plain.id)]).toEqual([1, 0, 0]);
    });
  });

  describe("archiving and deleting", () => {
    test("an archived flow keeps its runs, refuses new ones, deletes its auto-scheduled runs and cancels ad-hoc Scheduled ones", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b);
      const adHoc = (await b.services.createFlowRun({ flowId: f.id })).id;
      const auto = (await b.services.createFlowRun({ flowId: f.id, autoScheduled: true, scheduledStartTime: b.clock.iso(60_000) })).id;
      const running = (await b.services.createFlowRun({ flowId: f.id })).id;
      await b.services.setFlowRunStates([{ flowRunId: running, version: 1, state: { type: "Running" } }]);
      await b.services.archiveFlow(f.id);
      const state = async (id: string) => await row(b, "SELECT state, state_message AS m FROM flow_run WHERE id = $id", { id });
      expect(await state(adHoc)).toEqual({ state: "Cancelled", m: `Flow ${f.id} was archived.` });
      expect(await state(auto)).toBeNull();
      expect((await state(running)).state).toBe("Running");
      await expect(b.services.createFlowRun({ flowId: f.id })).rejects.toThrow(/archived/);
    });

    test("deleting a flow deletes its runs", async () => {
      const b = await openTestBackend({ kind });
      const f = await registerFlow(b);
      await b.services.createFlowRun({ flowId: f.id });
      await b.services.deleteFlow(f.id);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run")).n).toBe(0);
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run")).n).toBe(0);
      await expect(b.services.deleteFlow(f.id)).rejects.toThrow(code("NotFound"));
    });
  });
});
