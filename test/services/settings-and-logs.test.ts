import { describe, expect, test } from "bun:test";
import { intervalSchedule, openTestBackend, registerFlow, row, rows, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const groupOf = async (b: TestBackend) => await row(b, "SELECT * FROM flow_group");

  describe("write_run_logs", () => {
    test("valid rows are kept and invalid ones skipped", async () => {
      const b = await openTestBackend({ kind });
      const flowRunId = (await b.services.createFlowRun({ flowId: (await registerFlow(b)).id })).id;
      const taskRunId = (await row(b, "SELECT id FROM task_run")).id;
      const result = await b.services.writeRunLogs([
        { flow_run_id: flowRunId, message: "plain", level: "INFO" },
        { flow_run_id: flowRunId, task_run_id: taskRunId, message: "with task", level: "error", info: { k: 1 }, name: "prefect.TaskRunner", timestamp: "2024-01-01T11:00:00Z" },
        { flow_run_id: flowRunId, message: "bad level", level: "LOUD" },
        { flow_run_id: "not-a-uuid", message: "bad id" },
        { flow_run_id: crypto.randomUUID(), message: "unknown run" },
        { flow_run_id: flowRunId, task_run_id: crypto.randomUUID(), message: "unknown task run" },
        { flow_run_id: flowRunId, message: "bad time", timestamp: "yesterday" },
        { flow_run_id: flowRunId },
        "not an object",
      ]);
      expect(result.written).toBe(2);
      expect(result.skipped).toBe(7);
      // Each refused line says why; lines naming runs that do not exist are counted together.
      expect(result.problems).toEqual([
        "logs[2]: unknown level \"LOUD\" (use one of DEBUG, INFO, WARNING, ERROR, CRITICAL)",
        "logs[3]: flow_run_id must be a UUID",
        "logs[6]: timestamp must be an ISO-8601 time, got \"yesterday\"",
        "logs[7]: message must be a string",
        "logs[8]: a log line must be an object",
        "2 line(s) not stored: they name a flow run that does not exist or a task run not of that flow run, or their write_id is stored already",
      ]);
      expect(result.error).toStartWith("7 of 9 log lines skipped: logs[2]: unknown level");
      expect(await rows(b, "SELECT message, level, task_run_id, timestamp, info FROM log ORDER BY timestamp")).toEqual([
        { message: "with task", level: "ERROR", task_run_id: taskRunId, timestamp: "2024-01-01T11:00:00.000Z", info: '{"k":1}' },
        { message: "plain", level: "INFO", task_run_id: null, timestamp: b.clock.iso(), info: null },
      ]);
    });
  });

  describe("heartbeats", () => {
    test("update_flow_run_heartbeat and update_task_run_heartbeat set the time; unknown ids are NotFound", async () => {
      const b = await openTestBackend({ kind });
      const flowRunId = (await b.services.createFlowRun({ flowId: (await registerFlow(b)).id })).id;
      const taskRunId = (await row(b, "SELECT id FROM task_run")).id;
      b.clock.advance(1234);
      await b.services.updateFlowRunHeartbeat(flowRunId);
      await b.services.updateTaskRunHeartbeat(taskRunId);
      expect((await row(b, "SELECT heartbeat FROM flow_run")).heartbeat).toBe(b.clock.iso());
      expect((await row(b, "SELECT heartbeat FROM task_run")).heartbeat).toBe(b.clock.iso());
      await expect(b.services.updateFlowRunHeartbeat(crypto.randomUUID())).rejects.toThrow(expect.objectContaining({ code: "NotFound" }));
    });
  });

  describe("flow group settings", () => {
    test("heartbeat, Lazarus and version-lock switches write flow_group.settings", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      await b.services.setFlowGroupSetting(flowId, "heartbeat_enabled", false);
      await b.services.setFlowGroupSetting(flowId, "lazarus_enabled", false);
      await b.services.setFlowGroupSetting(flowId, "version_locking_enabled", true);
      expect(JSON.parse((await groupOf(b)).settings)).toMatchObject({ heartbeat_enabled: false, lazarus_enabled: false, version_locking_enabled: true });
      await b.services.setFlowGroupSetting(flowId, "heartbeat_enabled", true);
      expect(JSON.parse((await groupOf(b)).settings).heartbeat_enabled).toBe(true);
    });

    test("default parameters are replaced whole and their names checked against the newest version", async () => {
      const b = await openTestBackend({ kind });
      await registerFlow(b, { parameters: { a: 1, b: 2 } });
      const id = (await groupOf(b)).id;
      await b.services.setFlowGroupDefaultParameters(id, { a: 10, b: 20 });
      await b.services.setFlowGroupDefaultParameters(id, { b: 0 });
      expect(JSON.parse((await groupOf(b)).default_parameters)).toEqual({ b: 0 });
      await expect(b.services.setFlowGroupDefaultParameters(id, { c: 1 })).rejects.toThrow(/no parameter 'c'/);
      expect(JSON.parse((await groupOf(b)).default_parameters)).toEqual({ b: 0 });
    });

    test("labels: null and [] are distinct, and labels are deduplicated and sorted", async () => {
      const b = await openTestBackend({ kind });
      await registerFlow(b);
      const id = (await groupOf(b)).id;
      await b.services.setFlowGroupLabels(id, ["b", "a", "b"]);
      expect((await groupOf(b)).labels).toBe('["a","b"]');
      await b.services.setFlowGroupLabels(id, []);
      expect((await groupOf(b)).labels).toBe("[]");
      await b.services.setFlowGroupLabels(id, null);
      expect((await groupOf(b)).labels).toBeNull();
    });
  });

  describe("set_schedule_active / set_schedule_inactive", () => {
    const active = async (b: TestBackend, id: string) => (await row(b, "SELECT is_schedule_active AS a FROM flow WHERE id = $id", { id })).a;

    test("a flow without a schedule cannot be activated (false, nothing changes)", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b)).id;
      expect(await b.services.setScheduleActive({ flowId: id })).toBe(false);
      expect(await active(b, id)).toBe(0);
    });

    test("activation is refused while some clock leaves a required parameter without a value", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b, { parameters: { x: undefined }, schedule: intervalSchedule({ x: 1 }, {}) })).id;
      expect(await active(b, id)).toBe(0);
      await expect(b.services.setScheduleActive({ flowId: id })).rejects.toThrow(/Can not schedule a flow that has required parameters.*'x'/);
    });

    test("clock parameter defaults or flow-group defaults covering every required parameter allow activation", async () => {
      const b = await openTestBackend({ kind });
      const byClocks = (await registerFlow(b, { name: "c", parameters: { x: undefined }, schedule: intervalSchedule({ x: 1 }, { x: 2 }) })).id;
      expect(await active(b, byClocks)).toBe(1);
      const byGroup = (await registerFlow(b, { name: "g", parameters: { x: undefined }, schedule: intervalSchedule({}) })).id;
      await b.services.setFlowGroupDefaultParameters((await row(b, "SELECT flow_group_id FROM flow WHERE id = $id", { id: byGroup })).flow_group_id, { x: 3 });
      expect(await b.services.setScheduleActive({ flowId: byGroup })).toBe(true);
      expect(await active(b, byGroup)).toBe(1);
    });

    test("a flow group id works as schedule_id", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b, { schedule: intervalSchedule() })).id;
      const groupId = (await groupOf(b)).id;
      await b.services.setScheduleInactive({ scheduleId: groupId });
      expect(await active(b, id)).toBe(0);
      expect(await b.services.setScheduleActive({ scheduleId: groupId })).toBe(true);
      expect(await active(b, id)).toBe(1);
    });

    test("set_schedule_inactive deletes only the flow's auto-scheduled Scheduled runs", async () => {
      const b = await openTestBackend({ kind });
      const id = (await registerFlow(b, { schedule: intervalSchedule() })).id;
      const auto = (await b.services.createFlowRun({ flowId: id, autoScheduled: true, scheduledStartTime: b.clock.iso(3_600_000) })).id;
      const adHoc = (await b.services.createFlowRun({ flowId: id })).id;
      await b.services.setScheduleInactive({ flowId: id });
      expect(await active(b, id)).toBe(0);
      expect((await rows(b, "SELECT id FROM flow_run")).map((r) => r.id)).toEqual([adHoc]);
      expect(auto).not.toBe(adHoc);
    });
  });
});
