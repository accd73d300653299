import { describe, expect, test } from "bun:test";
import { flowRun, logsOf, openTestBackend, row, runningRun, setTask, taskRun, ZOMBIE_AFTER_MS, HEARTBEAT_MS } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const kill = (b: Awaited<ReturnType<typeof openTestBackend>>) => b.services.killZombies({ staleAfterMs: ZOMBIE_AFTER_MS });

  describe("the zombie killer", () => {
    test("a run that keeps beating is left alone", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 1 });
      await setTask(b, run.load, "Running");
      for (let i = 0; i < 10; i++) {
        b.clock.advance(HEARTBEAT_MS);
        await b.services.updateFlowRunHeartbeat(run.runId);
        expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      }
      expect((await taskRun(b, run.load)).state).toBe("Running");
    });

    test("a silent run whose task runs are Paused or Looped has no zombie: only Running task runs are", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Paused");
      await setTask(b, run.load, "Running", "Looped");
      b.clock.advance(ZOMBIE_AFTER_MS * 10);
      expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      expect((await taskRun(b, run.extract)).state).toBe("Paused");
      expect((await taskRun(b, run.load)).state).toBe("Looped");
    });

    test("missing fewer beats than the limit changes nothing; missing them all ends the Running task run", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Success");
      await setTask(b, run.load, "Running");
      b.clock.advance(ZOMBIE_AFTER_MS - 1);
      expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      b.clock.advance(2);
      expect(await kill(b)).toEqual({ retried: 0, failed: 1, cancelled: 0 });
      const load = await taskRun(b, run.load);
      expect(load.state).toBe("Failed");
      expect(JSON.parse(load.serialized_state).message).toBe(
        `No heartbeat detected from the remote task; marking the task run ${run.load} (load-1) as failed.`,
      );
      expect((await taskRun(b, run.extract)).state).toBe("Success");
      expect((await flowRun(b, run.runId)).state).toBe("Running"); // the flow run is Lazarus's business
    });

    test("a task with retries left becomes Retrying, counting the lost attempt, after its retry delay", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 2 });
      await setTask(b, run.load, "Running");
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      expect((await kill(b)).retried).toBe(1);
      const load = await taskRun(b, run.load);
      expect(load.state).toBe("Retrying");
      const state = JSON.parse(load.serialized_state);
      expect(state.message).toBe("No heartbeat detected from the remote task; retrying the run. This will be retry 1 of 2.");
      expect(state.runCount).toBe(1);
      expect(state.startTime).toBe(b.clock.iso(5_000));
    });

    test("a task that has used its retries fails", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 1 });
      await setTask(b, run.load, "Running", "Retrying", "Running"); // the second (last) attempt
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      expect(await kill(b)).toEqual({ retried: 0, failed: 1, cancelled: 0 });
      expect((await taskRun(b, run.load)).state).toBe("Failed");
    });

    test("each task run it ends gets an ERROR log on the task run", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      await kill(b);
      expect(await logsOf(b, run.runId)).toEqual([
        {
          task_run_id: run.load,
          name: "ZombieKiller.TaskRun",
          level: "ERROR",
          message: `No heartbeat detected from the remote task; marking the task run ${run.load} (load-1) as failed.`,
        },
      ]);
    });

    test("the write is versioned: a pass acts once, and a later pass finds nothing", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 3 });
      await setTask(b, run.load, "Running");
      const before = (await taskRun(b, run.load)).version;
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      await kill(b);
      expect((await taskRun(b, run.load)).version).toBe(before + 1);
      expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      expect((await row(b, "SELECT COUNT(*) AS n FROM task_run_state WHERE task_run_id = $id AND state = 'Retrying'", { id: run.load })).n).toBe(1);
    });

    test("runs of a flow with heartbeats disabled are left alone, and handled again once re-enabled", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      await b.services.setFlowGroupSetting(run.flowId, "heartbeat_enabled", false);
      b.clock.advance(ZOMBIE_AFTER_MS * 10);
      expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      expect((await taskRun(b, run.load)).state).toBe("Running");
      await b.services.setFlowGroupSetting(run.flowId, "heartbeat_enabled", true);
      expect((await kill(b)).failed).toBe(1);
    });

    test("a lazarus_enabled switch does not stop the zombie killer", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      await b.services.setFlowGroupSetting(run.flowId, "lazarus_enabled", false);
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      expect((await kill(b)).failed).toBe(1);
    });

    test("task runs that are not Running, and runs that are finished or Scheduled, are not touched", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Success");
      const scheduled = (await b.services.createFlowRun({ flowId: run.flowId })).id;
      b.clock.advance(ZOMBIE_AFTER_MS * 2);
      expect(await kill(b)).toEqual({ retried: 0, failed: 0, cancelled: 0 });
      expect((await flowRun(b, scheduled)).state).toBe("Scheduled");
    });

    test("a Cancelling run whose process is gone ends Cancelled, with its unfinished task runs", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      expect((await b.services.cancelFlowRun(run.runId)).state).toBe("Cancelling");
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      expect((await kill(b)).cancelled).toBe(1);
      expect((await flowRun(b, run.runId)).state).toBe("Cancelled");
      expect((await taskRun(b, run.load)).state).toBe("Cancelled");
      expect((await logsOf(b, run.runId)).map((l) => [l.name, l.level])).toContainEqual(["ZombieKiller.FlowRun", "ERROR"]);
    });

    test("a run that never beat counts from its state's time", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      await b.sql("UPDATE flow_run SET heartbeat = NULL WHERE id = $id", { id: run.runId });
      b.clock.advance(ZOMBIE_AFTER_MS - 1);
      expect((await kill(b)).failed).toBe(0);
      b.clock.advance(2);
      expect((await kill(b)).failed).toBe(1);
    });

    test("a bad staleness is refused", async () => {
      const b = await openTestBackend({ kind });
      await expect(b.services.killZombies({ staleAfterMs: 0 })).rejects.toThrow(/positive/);
    });
  });
});
