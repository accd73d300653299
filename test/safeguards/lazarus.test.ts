import { describe, expect, test } from "bun:test";
import { flowRun, LAZARUS_AFTER_MS, logsOf, openTestBackend, runningRun, setTask, taskRun, ZOMBIE_AFTER_MS } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  type B = Awaited<ReturnType<typeof openTestBackend>>;
  const revive = (b: B) => b.services.resurrectRuns({ staleAfterMs: LAZARUS_AFTER_MS });

  /** Take the run again as an agent would, then start it as its runner would. */
  async function claimAndStart(b: B, runId: string) {
    const agentId = (await b.services.registerAgent({ type: "test" })).id;
    const [claimed] = (await b.services.claimRuns({ agentId, limit: 10 }));
    expect(claimed?.id).toBe(runId);
    await b.services.setFlowRunStates([{ flowRunId: runId, version: claimed!.version, state: { type: "Running" } }]);
  }

  describe("Lazarus", () => {
    test("a quiet Running run with no task run Running is rescheduled, logged, and offered to agents again", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Success");
      b.clock.advance(LAZARUS_AFTER_MS - 1);
      expect(await revive(b)).toEqual({ rescheduled: 0, failed: 0 });
      b.clock.advance(2);
      expect(await revive(b)).toEqual({ rescheduled: 1, failed: 0 });
      const after = await flowRun(b, run.runId);
      expect(after.state).toBe("Scheduled");
      expect(after.state_message).toBe("Rescheduled by a Lazarus process. This is attempt 1.");
      expect(after.times_resurrected).toBe(1);
      expect(await logsOf(b, run.runId)).toEqual([
        { task_run_id: null, name: "Lazarus.FlowRun", level: "INFO", message: "Rescheduled by a Lazarus process. This is attempt 1." },
      ]);
      expect((await b.services.getRunsInQueue({}))).toEqual([run.runId]);
      expect((await taskRun(b, run.extract)).state).toBe("Success"); // finished task runs keep their states
    });

    test("a quiet Submitted run (its process never started) is rescheduled too", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await runningRun(b)).flowId;
      const runId = (await b.services.createFlowRun({ flowId })).id;
      const agentId = (await b.services.registerAgent({ type: "test" })).id;
      expect((await b.services.claimRuns({ agentId, limit: 1 })).map((r) => r.id)).toEqual([runId]);
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect((await revive(b)).rescheduled).toBe(2); // the Running run of runningRun as well
      expect((await flowRun(b, runId)).state).toBe("Scheduled");
    });

    test("a task run still Running blocks it; a Retrying one does not", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 1 });
      await setTask(b, run.load, "Running");
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect((await revive(b)).rescheduled).toBe(0);
      await setTask(b, run.load, "Retrying");
      expect((await revive(b)).rescheduled).toBe(1);
    });

    test("a task run Paused (Prefect's PAUSE) holds it back: it waits for a person; once resumed it does not", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Paused");
      b.clock.advance(LAZARUS_AFTER_MS * 10);
      expect(await revive(b)).toEqual({ rescheduled: 0, failed: 0 });
      expect((await flowRun(b, run.runId)).state).toBe("Running");
      expect((await taskRun(b, run.extract)).state).toBe("Paused");
      // Resumed, the task run is due: Prefect's agent takes the Running run again (and Lazarus may too).
      await setTask(b, run.extract, "Resume");
      expect(await b.services.getRunsInQueue({})).toEqual([run.runId]);
      expect((await revive(b)).rescheduled).toBe(1);
    });

    test("a run that beats is left alone", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      for (let i = 0; i < 5; i++) {
        b.clock.advance(LAZARUS_AFTER_MS / 2);
        await b.services.updateFlowRunHeartbeat(run.runId);
        expect((await revive(b)).rescheduled).toBe(0);
      }
    });

    test("three attempts, then Failed with an ERROR log", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      for (let attempt = 1; attempt <= 3; attempt++) {
        b.clock.advance(LAZARUS_AFTER_MS + 1);
        expect(await revive(b)).toEqual({ rescheduled: 1, failed: 0 });
        expect((await flowRun(b, run.runId)).state_message).toBe(`Rescheduled by a Lazarus process. This is attempt ${attempt}.`);
        await claimAndStart(b, run.runId);
      }
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect(await revive(b)).toEqual({ rescheduled: 0, failed: 1 });
      const after = await flowRun(b, run.runId);
      expect(after.state).toBe("Failed");
      expect(after.state_message).toBe("A Lazarus process attempted to reschedule this run 3 times without success. Marking as failed.");
      expect(after.times_resurrected).toBe(3);
      expect((await logsOf(b, run.runId)).at(-1)).toMatchObject({ name: "Lazarus.FlowRun", level: "ERROR" });
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect(await revive(b)).toEqual({ rescheduled: 0, failed: 0 });
    });

    test("lazarus_enabled false leaves the flow's runs alone; so does heartbeat_enabled false", async () => {
      for (const setting of ["lazarus_enabled", "heartbeat_enabled"] as const) {
        const b = await openTestBackend({ kind });
        const run = await runningRun(b);
        await b.services.setFlowGroupSetting(run.flowId, setting, false);
        b.clock.advance(LAZARUS_AFTER_MS * 10);
        expect((await revive(b)).rescheduled).toBe(0);
        expect((await flowRun(b, run.runId)).state).toBe("Running");
        await b.services.setFlowGroupSetting(run.flowId, setting, true);
        expect((await revive(b)).rescheduled).toBe(1);
      }
    });

    test("Scheduled, finished and Cancelling runs are not its business", async () => {
      const b = await openTestBackend({ kind });
      const { flowId } = await runningRun(b);
      await b.services.setFlowRunStates([{ flowRunId: (await runningRun(b)).runId, version: 2, state: { type: "Success" } }]);
      const cancelling = (await runningRun(b)).runId;
      await b.services.cancelFlowRun(cancelling);
      await b.services.createFlowRun({ flowId });
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect((await revive(b)).rescheduled).toBe(1); // only the first Running run
      expect((await flowRun(b, cancelling)).state).toBe("Cancelling");
    });

    test("with the zombie killer: a killed run's lost task becomes Retrying, then the run is rescheduled", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 1 });
      await setTask(b, run.extract, "Running", "Success");
      await setTask(b, run.load, "Running");
      b.clock.advance(Math.max(ZOMBIE_AFTER_MS, LAZARUS_AFTER_MS) + 1);
      expect((await revive(b)).rescheduled).toBe(0); // load is still Running
      expect((await b.services.killZombies({ staleAfterMs: ZOMBIE_AFTER_MS })).retried).toBe(1);
      expect((await revive(b)).rescheduled).toBe(1);
      expect([(await flowRun(b, run.runId)).state, (await taskRun(b, run.extract)).state, (await taskRun(b, run.load)).state]).toEqual([
        "Scheduled",
        "Success",
        "Retrying",
      ]);
    });
  });
});
