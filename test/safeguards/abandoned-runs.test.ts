import { describe, expect, test } from "bun:test";
import { errorOf } from "../helpers.ts";
import { flowRun, LAZARUS_AFTER_MS, logsOf, openTestBackend, row, runningRun, setTask, taskRun, ZOMBIE_AFTER_MS } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  type B = Awaited<ReturnType<typeof openTestBackend>>;
  const revive = (b: B, agentlessRuns?: "fail" | "reschedule") => b.services.resurrectRuns({ staleAfterMs: LAZARUS_AFTER_MS, agentlessRuns });
  const labelsOf = async (b: B, runId: string) => JSON.parse((await row(b, "SELECT labels FROM flow_run WHERE id = $id", { id: runId })).labels as string);

  /** A Running run of a two-task flow labelled like `run --execute`'s, its first task Running. */
  async function agentlessRun(b: B) {
    const run = await runningRun(b);
    const runId = (await b.services.createFlowRun({ flowId: run.flowId, labels: ["agentless-run-0123abcd", "gpu"] })).id;
    await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    const extract = (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $r AND task_slug = 'extract-1'", { r: runId })).id as string;
    return { runId, extract, other: run.runId };
  }

  describe("a run whose process is gone, ended from outside it (endAbandonedRun)", () => {
    test("ends Failed with every unfinished task run, each saying why; finished task runs keep their states", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running", "Success");
      await setTask(b, run.load, "Running");
      const message = "The flow run process was killed by SIGKILL before the run finished.";
      expect((await b.services.endAbandonedRun({ flowRunId: run.runId, state: "Failed", message, logger: "prefectlite.execute" }))).toEqual({ state: "Failed", changed: true });
      expect(await flowRun(b, run.runId)).toMatchObject({ state: "Failed", state_message: message });
      expect((await taskRun(b, run.extract)).state).toBe("Success");
      const load = await taskRun(b, run.load);
      expect(load.state).toBe("Failed");
      expect(JSON.parse(load.serialized_state as string).message).toBe(`The flow run ended Failed before this task run finished: ${message}`);
      expect((await logsOf(b, run.runId)).at(-1)).toEqual({ task_run_id: null, name: "prefectlite.execute", level: "ERROR", message });
    });

    test("a Paused or Looped task run is not finished: it ends with the run; a Cached one keeps its state", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      const third = (await b.services.createFlowRun({ flowId: run.flowId })).id;
      await setTask(b, run.extract, "Running", "Looped");
      await setTask(b, run.load, "Running", "Paused");
      const message = "The flow run process is gone.";
      await b.services.endAbandonedRun({ flowRunId: run.runId, state: "Failed", message });
      for (const id of [run.extract, run.load]) {
        const ended = await taskRun(b, id);
        expect(ended.state).toBe("Failed");
        expect(JSON.parse(ended.serialized_state as string).message).toBe(`The flow run ended Failed before this task run finished: ${message}`);
      }
      await b.services.setFlowRunStates([{ flowRunId: third, version: 1, state: { type: "Running" } }]);
      const cached = (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $r AND task_slug = 'extract-1'", { r: third })).id as string;
      await setTask(b, cached, "Running", "Success", "Cached");
      await b.services.endAbandonedRun({ flowRunId: third, state: "Cancelled", message });
      expect((await taskRun(b, cached)).state).toBe("Cached");
    });

    test("ends Cancelled (a cancelled run whose process would not stop) with its task runs Cancelled, never started ones included", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.extract, "Running");
      await b.services.cancelFlowRun(run.runId);
      expect((await flowRun(b, run.runId)).state).toBe("Cancelling");
      const message = "The flow run was cancelled, but its process (PID 7) was still running 10 s later (PREFECTLITE_CANCEL_GRACE_SECONDS): killed it";
      expect((await b.services.endAbandonedRun({ flowRunId: run.runId, state: "Cancelled", message }))).toEqual({ state: "Cancelled", changed: true });
      expect((await taskRun(b, run.extract)).state).toBe("Cancelled");
      expect((await taskRun(b, run.load)).state).toBe("Cancelled");
      expect((await logsOf(b, run.runId)).at(-1)).toMatchObject({ name: "prefectlite.RunProcess", level: "WARNING", message });
    });

    test("leaves a run that has finished as it is", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      const { version } = await flowRun(b, run.runId);
      await b.services.setFlowRunStates([{ flowRunId: run.runId, version, state: { type: "Success" } }]);
      expect((await b.services.endAbandonedRun({ flowRunId: run.runId, state: "Failed", message: "too late" }))).toEqual({ state: "Success", changed: false });
      expect((await flowRun(b, run.runId)).state).toBe("Success");
    });

    test("refuses another state, an empty message and an unknown run with one clear error", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      expect((await errorOf(Promise.resolve().then(() => b.services.endAbandonedRun({ flowRunId: run.runId, state: "Success" as "Failed", message: "x" })))).message).toBe(
        'state must be Failed or Cancelled, got "Success"',
      );
      expect((await errorOf(Promise.resolve().then(() => b.services.endAbandonedRun({ flowRunId: run.runId, state: "Failed", message: " " })))).code).toBe("Validation");
      expect((await errorOf(Promise.resolve().then(() => b.services.endAbandonedRun({ flowRunId: crypto.randomUUID(), state: "Failed", message: "x" })))).code).toBe("NotFound");
      expect((await flowRun(b, run.runId)).state).toBe("Running");
    });
  });

  describe("Lazarus and agentless runs (label agentless-run-…, which no agent can take)", () => {
    test("a silent agentless run is failed, not rescheduled, and leaves no task run unfinished", async () => {
      const b = await openTestBackend({ kind });
      const run = await agentlessRun(b);
      await setTask(b, run.extract, "Running");
      b.clock.advance(ZOMBIE_AFTER_MS + 1);
      (await b.services.killZombies({ staleAfterMs: ZOMBIE_AFTER_MS })); // its Running task run ends first
      b.clock.advance(LAZARUS_AFTER_MS);
      expect(await revive(b)).toEqual({ rescheduled: 1, failed: 1 }); // the other (agent) run is rescheduled
      const after = await flowRun(b, run.runId);
      expect(after.state).toBe("Failed");
      expect(after.state_message).toStartWith("The process executing this agentless run (label agentless-run-0123abcd) is gone, and no agent can take a run with that label");
      const states = await b.sql<{ state: string }>("SELECT state FROM task_run WHERE flow_run_id = $id", { id: run.runId });
      expect(states.map((s) => s.state).sort()).toEqual(["Failed", "Failed"]);
      expect((await flowRun(b, run.other)).state).toBe("Scheduled");
      expect((await logsOf(b, run.runId)).at(-1)).toMatchObject({ name: "Lazarus.FlowRun", level: "ERROR" });
    });

    test("when asked, it is rescheduled for an agent instead: its agentless label is dropped, its other labels kept", async () => {
      const b = await openTestBackend({ kind });
      const run = await agentlessRun(b);
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect(await revive(b, "reschedule")).toEqual({ rescheduled: 2, failed: 0 });
      const after = await flowRun(b, run.runId);
      expect(after.state).toBe("Scheduled");
      expect(after.state_message).toBe("Rescheduled by a Lazarus process for an agent (its agentless process is gone; label agentless-run-0123abcd dropped). This is attempt 1.");
      expect(await labelsOf(b, run.runId)).toEqual(["gpu"]);
      expect((await b.services.getRunsInQueue({ labels: ["gpu"] }))).toContain(run.runId);
    });

    test("giving up after three attempts ends the run's unfinished task runs too", async () => {
      const b = await openTestBackend({ kind });
      const run = await runningRun(b, { loadRetries: 1 });
      await setTask(b, run.load, "Running", "Retrying");
      for (let attempt = 1; attempt <= 3; attempt++) {
        b.clock.advance(LAZARUS_AFTER_MS + 1);
        expect((await revive(b)).rescheduled).toBe(1);
        const agentId = (await b.services.registerAgent({ type: "test" })).id;
        const [claimed] = (await b.services.claimRuns({ agentId, limit: 10 }));
        await b.services.setFlowRunStates([{ flowRunId: run.runId, version: claimed!.version, state: { type: "Running" } }]);
      }
      b.clock.advance(LAZARUS_AFTER_MS + 1);
      expect(await revive(b)).toEqual({ rescheduled: 0, failed: 1 });
      expect((await taskRun(b, run.load)).state).toBe("Failed");
      expect((await taskRun(b, run.extract)).state).toBe("Failed"); // never started: Pending until now
    });
  });
});
