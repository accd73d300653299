import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, rows, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const code = (c: string) => expect.objectContaining({ code: c });

  async function setup(tasks = ["a-1", "b-1"]) {
    const b = await openTestBackend({ kind });
    const flowId = (await registerFlow(b, { tasks })).id;
    const runId = (await b.services.createFlowRun({ flowId })).id;
    const taskRuns = (await rows(b, "SELECT id, task_slug FROM task_run WHERE flow_run_id = $id ORDER BY task_slug", { id: runId })).map((r) => r.id as string);
    return { b, flowId, runId, taskRuns };
  }
  const flowRun = async (b: TestBackend, id: string) => await row(b, "SELECT * FROM flow_run WHERE id = $id", { id });
  const taskRun = async (b: TestBackend, id: string) => await row(b, "SELECT * FROM task_run WHERE id = $id", { id });
  const setFlow = async (b: TestBackend, id: string, version: number, type: string, extra: object = {}) =>
    await b.services.setFlowRunStates([{ flowRunId: id, version, state: { type, ...extra } }]);
  const setTask = async (b: TestBackend, id: string, version: number, type: string) =>
    await b.services.setTaskRunStates([{ taskRunId: id, version, state: { type } }]);

  describe("writes without a version (Prefect's engine sends none for most states)", () => {
    test("accepted over the stored version while the flow's version lock is off; a versioned write is still checked", async () => {
      const { b, runId, taskRuns } = await setup();
      const [flow] = await b.services.setFlowRunStates([{ flowRunId: runId, version: undefined, state: { type: "Running" } }]);
      expect(flow).toMatchObject({ status: "SUCCESS", version: 2 });
      const [task] = await b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, version: null, state: { type: "Running" } }]);
      expect(task).toMatchObject({ status: "SUCCESS", version: 2 });
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ state: "Running", version: 2 });
      // The transition rules hold for it as for any write: a finished task run does not run again.
      await b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, state: { type: "Success" } }]);
      await expect(b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, state: { type: "Running" } }])).rejects.toThrow(/Success/);
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ state: "Success", version: 3 });
      await expect(setFlow(b, runId, 1, "Success")).rejects.toEqual(code("VersionConflict"));
      expect(await flowRun(b, runId)).toMatchObject({ state: "Running", version: 2 });
    });

    test("refused under version locking (the writer must say which version it read), changing nothing", async () => {
      const { b, flowId, runId, taskRuns } = await setup();
      await b.services.setFlowGroupSetting(flowId, "version_locking_enabled", true);
      await expect(b.services.setFlowRunStates([{ flowRunId: runId, state: { type: "Running" } }])).rejects.toThrow(
        `State update refused for flow run ${runId}: it carries no version, and version locking is enabled for this flow (send the version you read)`,
      );
      expect(await flowRun(b, runId)).toMatchObject({ state: "Scheduled", version: 1 });
      await setFlow(b, runId, 1, "Running");
      await expect(b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, state: { type: "Running" } }])).rejects.toEqual(code("VersionConflict"));
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ state: "Pending", version: 1 });
    });
  });

  describe("optimistic locking", () => {
    test("a state carrying the stored version is written: version + 1, run columns and a history row", async () => {
      const { b, runId } = await setup();
      const [result] = await setFlow(b, runId, 1, "Running", { message: "Running flow." });
      expect(result).toEqual({ id: runId, status: "SUCCESS", message: "Running flow.", version: 2 });
      expect(await flowRun(b, runId)).toMatchObject({ state: "Running", state_message: "Running flow.", version: 2, start_time: b.clock.iso() });
      expect(await rows(b, "SELECT state, version FROM flow_run_state WHERE flow_run_id = $id ORDER BY version", { id: runId })).toEqual([
        { state: "Scheduled", version: 1 },
        { state: "Running", version: 2 },
      ]);
    });

    test("a stale version is refused with VersionConflict and changes nothing", async () => {
      const { b, runId } = await setup();
      await setFlow(b, runId, 1, "Running");
      const before = await flowRun(b, runId);
      await expect(setFlow(b, runId, 1, "Success")).rejects.toThrow(code("VersionConflict"));
      expect(await flowRun(b, runId)).toEqual(before);
      expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run_state")).n).toBe(2);
    });

    test("a batch is one transaction: one bad item fails the whole batch", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await expect(
        b.services.setTaskRunStates([
          { taskRunId: taskRuns[0]!, version: 1, state: { type: "Running" } },
          { taskRunId: taskRuns[1]!, version: 9, state: { type: "Running" } },
        ]),
      ).rejects.toThrow(code("VersionConflict"));
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ state: "Pending", version: 1 });
      await expect(
        b.services.setFlowRunStates([
          { flowRunId: runId, version: 2, state: { type: "Success" } },
          { flowRunId: crypto.randomUUID(), version: 1, state: { type: "Success" } },
        ]),
      ).rejects.toThrow(code("NotFound"));
      expect((await flowRun(b, runId)).state).toBe("Running");
    });

    test("two writes to the same run in one batch chain their versions", async () => {
      const { b, runId } = await setup();
      const results = await b.services.setFlowRunStates([
        { flowRunId: runId, version: 1, state: { type: "Running" } },
        { flowRunId: runId, version: 2, state: { type: "Success" } },
      ]);
      expect(results.map((r) => r.version)).toEqual([2, 3]);
    });

    test("a task run's states in one batch are each checked and recorded, and its row ends where the last leaves it", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      const [a, c] = [taskRuns[0]!, taskRuns[1]!];
      const at = (s: number) => `2026-11-23T10:00:0${s}.000Z`;
      await b.sql("CREATE TABLE updates (id TEXT)");
      if (kind === "sqlite") await b.sql("CREATE TRIGGER count_updates AFTER UPDATE ON task_run BEGIN INSERT INTO updates VALUES (new.id); END");
      else {
        await b.sql("CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO updates VALUES (NEW.id); RETURN NEW; END'");
        await b.sql("CREATE TRIGGER count_updates AFTER UPDATE ON task_run FOR EACH ROW EXECUTE FUNCTION count_update()");
      }
      const results = await b.services.setTaskRunStates([
        { taskRunId: a, version: 1, state: { type: "Running", timestamp: at(1) } },
        { taskRunId: c, version: 1, state: { type: "Running", timestamp: at(2) } },
        { taskRunId: a, version: 2, state: { type: "Success", message: "done", timestamp: at(3), result: { type: "LocalResult", location: "/r/results/a", dir: "/r/results" } } },
      ]);
      expect(results.map((r) => [r.id, r.version])).toEqual([[a, 2], [c, 2], [a, 3]]);
      // One UPDATE per task run, however many of its states the batch holds.
      expect(await rows(b, "SELECT id, COUNT(*) AS n FROM updates GROUP BY id ORDER BY id", {})).toEqual(
        [a, c].sort().map((id) => ({ id, n: 1 })),
      );
      expect(await taskRun(b, a)).toMatchObject({ state: "Success", state_message: "done", version: 3, start_time: at(1), end_time: at(3), heartbeat: b.clock.iso() });
      expect(JSON.parse((await taskRun(b, a)).serialized_state as string)).toMatchObject({ type: "Success", result: { location: "/r/results/a" } });
      expect(await taskRun(b, c)).toMatchObject({ state: "Running", version: 2, start_time: at(2), end_time: null });
      expect(await rows(b, "SELECT state, version, timestamp FROM task_run_state WHERE task_run_id = $id ORDER BY version", { id: a })).toEqual([
        { state: "Pending", version: 1, timestamp: b.clock.iso() },
        { state: "Running", version: 2, timestamp: at(1) },
        { state: "Success", version: 3, timestamp: at(3) },
      ]);
    });

    test("a later state of a task run in the same batch is checked against the earlier one: a wrong version or move refuses the batch", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      const a = taskRuns[0]!;
      const batch = (first: string, second: { version: number; type: string }) => async () =>
        await b.services.setTaskRunStates([
          { taskRunId: a, version: 1, state: { type: first } },
          { taskRunId: a, version: second.version, state: { type: second.type } },
        ]);
      expect(batch("Running", { version: 1, type: "Success" })).toThrow(code("VersionConflict"));
      expect(batch("Success", { version: 2, type: "Running" })).toThrow(/Success → Running is not allowed/);
      expect(await taskRun(b, a)).toMatchObject({ state: "Pending", version: 1, start_time: null });
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run_state WHERE task_run_id = $id", { id: a })).n).toBe(1);
    });
  });

  describe("state validation", () => {
    test("unknown state types, malformed JSON, bad ids and oversized payloads are refused", async () => {
      const { b, runId } = await setup();
      await expect(setFlow(b, runId, 1, "Exploded")).rejects.toThrow(/unknown state type/);
      await expect(b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: "{oops" }])).rejects.toThrow(/not valid JSON/);
      await expect(b.services.setFlowRunStates([{ flowRunId: "nope", version: 1, state: { type: "Running" } }])).rejects.toThrow(code("Validation"));
      await expect(b.services.setFlowRunStates([{ flowRunId: runId, version: -1, state: { type: "Running" } }])).rejects.toThrow(/version/);
      await expect(setFlow(b, runId, 1, "Running", { message: "x".repeat(1024 * 1024 + 1) })).rejects.toThrow(/State payload is too large/);
      expect(await flowRun(b, runId)).toMatchObject({ state: "Scheduled", version: 1 });
    });

    test("a result location and start times are stored with the state", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setTask(b, taskRuns[0]!, 1, "Running");
      const result = { type: "LocalResult", location: "/tmp/results/r.json", dir: "/tmp/results" };
      await b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, version: 2, state: { type: "Success", result } }]);
      const t = await taskRun(b, taskRuns[0]!);
      expect(JSON.parse(t.state_result)).toEqual(result);
      expect(JSON.parse(t.serialized_state)).toMatchObject({ type: "Success", result });
      expect(t.end_time).toBe(b.clock.iso());
    });
  });

  describe("transitions", () => {
    test("finished states are final unless an explicit re-run asks for Scheduled", async () => {
      const { b, runId } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setFlow(b, runId, 2, "Failed");
      await expect(setFlow(b, runId, 3, "Running")).rejects.toThrow(code("Conflict"));
      const [r] = await b.services.setFlowRunStates([{ flowRunId: runId, version: 3, state: { type: "Scheduled" }, rerun: true }]);
      expect(r!.version).toBe(4);
    });

    test("a Cancelling run may only end", async () => {
      const { b, runId } = await setup();
      await setFlow(b, runId, 1, "Running");
      await b.services.cancelFlowRun(runId);
      await expect(setFlow(b, runId, 3, "Running")).rejects.toThrow(code("Conflict"));
      expect((await setFlow(b, runId, 3, "Cancelled"))[0]!.version).toBe(4);
    });

    test("a task run may enter Running only while its flow run is Running", async () => {
      const { b, runId, taskRuns } = await setup();
      await expect(setTask(b, taskRuns[0]!, 1, "Running")).rejects.toThrow(/not in a running state/);
      await setFlow(b, runId, 1, "Running");
      expect((await setTask(b, taskRuns[0]!, 1, "Running"))[0]!.version).toBe(2);
    });

    test("while its flow run is Cancelling, a task run's Running is recorded (written behind its start) unless version locking makes Running the claim to start", async () => {
      const { b, flowId, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await b.services.cancelFlowRun(runId);
      expect((await setTask(b, taskRuns[0]!, 1, "Running"))[0]!.version).toBe(2);
      expect((await setTask(b, taskRuns[0]!, 2, "Success"))[0]!.version).toBe(3);
      expect((await taskRun(b, taskRuns[0]!)).start_time).not.toBeNull();
      await b.services.setFlowGroupSetting(flowId, "version_locking_enabled", true);
      await expect(setTask(b, taskRuns[1]!, 1, "Running")).rejects.toThrow(/it is being cancelled: no task run may start/);
      // Once Cancelled, no task run enters Running, and the unfinished ones say they never started.
      await setFlow(b, runId, 3, "Cancelled");
      expect(await taskRun(b, taskRuns[1]!)).toMatchObject({ state: "Cancelled", state_message: "Flow run is cancelled: this task run never started" });
      expect((await taskRun(b, taskRuns[0]!)).state).toBe("Success");
    });

    test("a Cancelled flow run's task run that had started says so", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setTask(b, taskRuns[0]!, 1, "Running");
      await b.services.cancelFlowRun(runId);
      await setFlow(b, runId, 3, "Cancelled");
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ state: "Cancelled", state_message: "Flow run is cancelled: this task run had started and not finished" });
    });

    test("with version locking a task run enters Running once; without it Running → Running is accepted", async () => {
      const { b, flowId, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setTask(b, taskRuns[0]!, 1, "Running");
      expect((await setTask(b, taskRuns[0]!, 2, "Running"))[0]!.version).toBe(3);
      await b.services.setFlowGroupSetting(flowId, "version_locking_enabled", true);
      await setTask(b, taskRuns[1]!, 1, "Running");
      await expect(setTask(b, taskRuns[1]!, 2, "Running")).rejects.toThrow(/version locking/);
    });
  });

  describe("side effects of states", () => {
    test("Running and Submitted flow states refresh the heartbeat; Submitted records the agent", async () => {
      const { b, runId } = await setup();
      const agentId = (await b.services.registerAgent({ type: "local" })).id;
      await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Submitted" } }], { agentId });
      expect(await flowRun(b, runId)).toMatchObject({ heartbeat: b.clock.iso(), agent_id: agentId });
      b.clock.advance(5000);
      await setFlow(b, runId, 2, "Running");
      expect((await flowRun(b, runId)).heartbeat).toBe(b.clock.iso());
    });

    test("a Running task state refreshes the task-run heartbeat; start_time is the first Running, end_time set on finishing", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      const started = b.clock.iso();
      await setTask(b, taskRuns[0]!, 1, "Running");
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ heartbeat: started, start_time: started, end_time: null });
      b.clock.advance(1000);
      await b.services.setTaskRunStates([{ taskRunId: taskRuns[0]!, version: 2, state: { type: "Retrying", startTime: b.clock.iso(60_000) } }]);
      await setTask(b, taskRuns[0]!, 3, "Running");
      await setTask(b, taskRuns[0]!, 4, "TriggerFailed");
      expect(await taskRun(b, taskRuns[0]!)).toMatchObject({ start_time: started, end_time: b.clock.iso() });
    });

    test("a flow run set Cancelled cancels its unfinished task runs and leaves finished ones", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setTask(b, taskRuns[0]!, 1, "Running");
      await setTask(b, taskRuns[0]!, 2, "Success");
      await setFlow(b, runId, 2, "Cancelled");
      expect((await taskRun(b, taskRuns[0]!)).state).toBe("Success");
      expect(await taskRun(b, taskRuns[1]!)).toMatchObject({ state: "Cancelled", version: 2 });
    });
  });

  describe("cancel_flow_run", () => {
    test("a finished run is unchanged", async () => {
      const { b, runId } = await setup();
      await setFlow(b, runId, 1, "Running");
      await setFlow(b, runId, 2, "Success");
      expect(await b.services.cancelFlowRun(runId)).toEqual({ state: "Success" });
      expect((await flowRun(b, runId)).version).toBe(3);
    });

    test("a Running run becomes Cancelling", async () => {
      const { b, runId } = await setup();
      await setFlow(b, runId, 1, "Running");
      expect(await b.services.cancelFlowRun(runId)).toEqual({ state: "Cancelling" });
      expect(await flowRun(b, runId)).toMatchObject({ state: "Cancelling", state_message: "Flow run is cancelling" });
    });

    test("any other run becomes Cancelled with its unfinished task runs", async () => {
      const { b, runId, taskRuns } = await setup();
      expect(await b.services.cancelFlowRun(runId)).toEqual({ state: "Cancelled" });
      expect(await flowRun(b, runId)).toMatchObject({ state: "Cancelled", state_message: "Flow run is cancelled" });
      for (const id of taskRuns) expect((await taskRun(b, id)).state).toBe("Cancelled");
      await expect(b.services.cancelFlowRun(crypto.randomUUID())).rejects.toThrow(code("NotFound"));
    });
  });

  describe("a run's write batch", () => {
    test("task-run states, logs and the flow-run state in one transaction: all written, or none", async () => {
      const { b, runId, taskRuns } = await setup();
      await setFlow(b, runId, 1, "Running");
      const a = taskRuns[0]!;
      const batch = async (flowVersion: number) =>
        await b.services.writeRunBatch({
          taskRunStates: [
            { taskRunId: a, version: 1, state: { type: "Running" } },
            { taskRunId: a, version: 2, state: { type: "Success" } },
          ],
          logs: [{ flow_run_id: runId, task_run_id: a, message: "done", level: "INFO" }],
          flowRunState: { flowRunId: runId, version: flowVersion, state: { type: "Success" } },
        });
      const logs = async () => (await row(b, "SELECT COUNT(*) AS n FROM log")).n;
      await expect(batch(1)).rejects.toThrow(code("VersionConflict"));
      expect([(await taskRun(b, a)).state, (await flowRun(b, runId)).state, await logs()]).toEqual(["Pending", "Running", 0]);
      const written = await batch(2);
      expect(written.taskRunStates.map((w) => w.version)).toEqual([2, 3]);
      expect(written.logs).toEqual({ written: 1, skipped: 0 });
      expect(written.flowRunState?.version).toBe(3);
      expect([(await taskRun(b, a)).state, (await flowRun(b, runId)).state, await logs()]).toEqual(["Success", "Success", 1]);
    });
  });
});
