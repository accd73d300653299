import { describe, expect, test } from "bun:test";
import { stateFromJSON, type SerializedState } from "../../src/core/state.ts";
import { errorOf } from "../helpers.ts";
import { openTestBackend, registerFlow, row, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

// Prefect 1's state types beyond SPEC §2's fourteen, written as Prefect's engine writes them:
// non-Running states with no version (the flow's version lock is off), in Prefect's own keys.

const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);

async function setup(b: TestBackend) {
  const flowId = (await registerFlow(b, { tasks: ["a-1", "b-1"] })).id;
  const runId = (await b.services.createFlowRun({ flowId })).id;
  await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
  const taskRun = async (slug: string) => (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $r AND task_slug = $s", { r: runId, s: slug })).id as string;
  return { flowId, runId, a: await taskRun("a-1"), b: await taskRun("b-1") };
}

const stored = async (b: TestBackend, id: string): Promise<Record<string, any> & { serialized_state: SerializedState & Record<string, any> }> => {
  const r = await row(b, "SELECT state, version, state_start_time, start_time, end_time, serialized_state FROM task_run WHERE id = $id", { id });
  return { ...r, serialized_state: json(r.serialized_state) as SerializedState & Record<string, any> };
};

/** A write as Prefect's engine sends it: Running with the version it read, anything else without one. */
async function engineWrites(b: TestBackend, id: string, ...states: Array<Record<string, unknown>>) {
  for (const state of states) {
    const version = state.type === "Running" ? (await stored(b, id)).version : undefined;
    await b.services.setTaskRunStates([{ taskRunId: id, version, state: JSON.stringify({ __version__: "1.4.1", ...state }) }]);
  }
}

describeBackends((kind) => {
  describe("Prefect 1's Cached, Looped, Paused, Resume and ValidationFailed states", () => {
    test("caching: Running → Success → Cached is accepted, with Cached's keys kept; Cached is successful, final and ended", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      const result = { type: "LocalResult", dir: "/home/u/.prefect/results", location: "/home/u/.prefect/results/a.prefect", __version__: "1.4.1" };
      const expiry = b.clock.iso(3_600_000);
      await engineWrites(
        b,
        run.a,
        { type: "Running", message: "Starting task run." },
        { type: "Success", message: "Task run succeeded.", _result: result },
        { type: "Cached", message: "Task run succeeded.", _result: result, cached_result_expiration: expiry, hashed_inputs: { x: "9f2c" }, cached_parameters: { n: 3 } },
      );
      const s = await stored(b, run.a);
      expect(s.state).toBe("Cached");
      expect(s.version).toBe(4);
      expect(s.end_time).toBeTruthy();
      expect(s.serialized_state).toMatchObject({ type: "Cached", _result: result, cached_result_expiration: expiry, hashed_inputs: { x: "9f2c" }, cached_parameters: { n: 3 } });
      expect(stateFromJSON(s.serialized_state).isSuccessful()).toBe(true);
      expect((await b.store.taskRuns.unfinished(run.runId)).map((t) => t.id)).toEqual([run.b]);
      // Final: a Cached task run does not go back to Running.
      const again = await errorOf(engineWrites(b, run.a, { type: "Running" }));
      expect(again.message).toContain("Cached → Running is not allowed: Cached is a finished state");
    });

    test("a later run's task takes a cached state straight from Pending, and a Cached task run may take a newer Cached one", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Cached", message: "cached", cached_result_expiration: b.clock.iso(60_000) });
      await engineWrites(b, run.a, { type: "Cached", message: "a newer cache", cached_result_expiration: b.clock.iso(120_000) });
      const s = await stored(b, run.a);
      expect(s.serialized_state.message).toBe("a newer cache");
      expect(s.serialized_state.cached_result_expiration).toBe(b.clock.iso(120_000));
    });

    test("looping: Running → Looped → Running … → Success; Looped keeps loop_count, is not ended, and is left by the next iteration", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Looped", message: "Task is looping (1)", loop_count: 1 });
      let s = await stored(b, run.a);
      expect(s.state).toBe("Looped");
      expect(s.serialized_state.loop_count).toBe(1);
      expect(s.end_time).toBeNull();
      expect(stateFromJSON(s.serialized_state).isFinished()).toBe(true); // Prefect's hierarchy: Looped ⊂ Finished
      expect((await b.store.taskRuns.unfinished(run.runId)).map((t) => t.id).sort()).toEqual([run.a, run.b].sort());
      await engineWrites(b, run.a, { type: "Running" }, { type: "Looped", loop_count: 2 }, { type: "Running" }, { type: "Success" });
      s = await stored(b, run.a);
      expect(s.state).toBe("Success");
      expect(s.end_time).toBeTruthy();
      const history = await row(b, "SELECT count(*) AS n FROM task_run_state WHERE task_run_id = $id AND state = 'Looped'", { id: run.a });
      expect(Number(history.n)).toBe(2);
    });

    test("a flow run cancelled while a task run is Looped cancels it (its loop had started)", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Looped", loop_count: 1 });
      const { version } = await row(b, "SELECT version FROM flow_run WHERE id = $id", { id: run.runId });
      await b.services.setFlowRunStates([{ flowRunId: run.runId, version, state: { type: "Cancelled" } }]);
      const s = await stored(b, run.a);
      expect(s.state).toBe("Cancelled");
      expect(s.serialized_state.message).toBe("Flow run is cancelled: this task run had started and not finished");
    });

    test("pausing: Running → Paused has no start time (it waits for a person) and is not due; Resume starts now and makes the run due again", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Paused", message: "Pause signal raised", start_time: null });
      let s = await stored(b, run.a);
      expect(s.state).toBe("Paused");
      expect(s.state_start_time).toBeNull();
      expect(s.serialized_state.start_time).toBeUndefined();
      expect(stateFromJSON(s.serialized_state).isScheduled()).toBe(true);
      b.clock.advance(86_400_000);
      expect(await b.services.getRunsInQueue({})).toEqual([]);
      await engineWrites(b, run.a, { type: "Resume", message: "Resumed by a person" });
      s = await stored(b, run.a);
      expect(s.state).toBe("Resume");
      expect(s.serialized_state.start_time).toBe(b.clock.iso());
      // Prefect's agent (get_runs_in_queue) takes the Running run again; prefectlite's agents never claim a Running run.
      expect(await b.services.getRunsInQueue({})).toEqual([run.runId]);
      const agentId = (await b.services.registerAgent({ type: "test" })).id;
      expect(await b.services.claimRuns({ agentId, limit: 10 })).toEqual([]);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Success" });
      expect(await b.services.getRunsInQueue({})).toEqual([]);
    });

    test("a Paused task run with a start time (a timed pause) becomes due at it", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Paused", start_time: b.clock.iso(60_000) });
      expect(await b.services.getRunsInQueue({})).toEqual([]);
      b.clock.advance(60_000);
      expect(await b.services.getRunsInQueue({})).toEqual([run.runId]);
    });

    test("a Submitted state keeps the state it wraps (Prefect's engine unwraps it to learn that a task run resumes or retries)", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Paused" }, { type: "Resume" });
      const resume = (await stored(b, run.a)).serialized_state;
      const wrapped = { ...resume, result: { type: "LocalResult", location: "/anywhere/x.json" } };
      await engineWrites(b, run.a, { type: "Submitted", message: "Submitted for execution.", state: wrapped });
      const s = await stored(b, run.a);
      expect(s.state).toBe("Submitted");
      expect(s.serialized_state.state).toMatchObject({ type: "Resume", start_time: resume.start_time, __version__: "1.4.1" });
      expect(s.serialized_state.state?.result).toBeUndefined(); // prefectlite's result key is not kept inside: nothing checked it there
      const bad = await errorOf(engineWrites(b, run.a, { type: "Submitted", state: { type: "Paused", start_time: "soon" } }));
      expect(bad.message).toContain("states[0].state.state.start_time");
    });

    test("ValidationFailed is a failure: final, refused as a restart's keeper", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "ValidationFailed", message: "bad result" });
      const s = await stored(b, run.a);
      expect(stateFromJSON(s.serialized_state).isFailed()).toBe(true);
      expect(s.end_time).toBeTruthy();
      expect((await errorOf(engineWrites(b, run.a, { type: "Success" }))).message).toContain("ValidationFailed → Success is not allowed");
    });

    test("flow runs take them too: a Paused flow run is not offered to agents, and Prefect's keys of a type are kept", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      const runId = (await b.services.createFlowRun({ flowId })).id;
      await b.services.setFlowRunStates([{ flowRunId: runId, state: { type: "Paused", message: "held" } }]);
      expect(await row(b, "SELECT state, state_start_time FROM flow_run WHERE id = $id", { id: runId })).toEqual({ state: "Paused", state_start_time: null });
      b.clock.advance(86_400_000);
      expect(await b.services.getRunsInQueue({})).toEqual([]);
    });

    test("Prefect's ClientFailed and the abstract Finished are refused, each saying why", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      expect((await errorOf(engineWrites(b, run.a, { type: "ClientFailed", state: { type: "Success" } }))).message).toBe(
        "states[0].state: ClientFailed is Prefect's in-process marker for a state its client could not write; it is never stored",
      );
      expect((await errorOf(engineWrites(b, run.a, { type: "Finished" }))).message).toBe(
        "states[0].state: Finished is the abstract parent of the finished states: write one of them",
      );
      expect((await errorOf(engineWrites(b, run.a, { type: "Looped", loop_count: -1 }))).message).toBe("states[0].state.loop_count must be a non-negative integer");
      expect((await errorOf(engineWrites(b, run.a, { type: "Cached", hashed_inputs: { x: 1 } }))).message).toBe("states[0].state.hashed_inputs must be an object of strings");
      expect((await stored(b, run.a)).state).toBe("Pending");
    });
  });

  describe("writing a final state again, as Prefect's engine does", () => {
    test("the same type again is accepted (unversioned while the lock is off, versioned writes still checked); another outcome is refused", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Success", message: "first" }, { type: "Success", message: "again" });
      expect((await stored(b, run.a)).serialized_state.message).toBe("again");
      await b.services.setTaskRunStates([{ taskRunId: run.a, version: 4, state: { type: "Success", message: "versioned" } }]);
      const stale = await errorOf(b.services.setTaskRunStates([{ taskRunId: run.a, version: 4, state: { type: "Success" } }]));
      expect((stale as any).code).toBe("VersionConflict");
      const other = await errorOf(engineWrites(b, run.a, { type: "Failed" }));
      expect(other.message).toBe(
        `State update refused for task run ${run.a}: Success → Failed is not allowed: Success is a finished state (only an explicit re-run may leave it, for Scheduled or Pending; it may be written again as Success or Cached)`,
      );
      expect((await stored(b, run.a)).version).toBe(5);
    });

    test("under version locking an unversioned rewrite is refused like any unversioned write", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await engineWrites(b, run.a, { type: "Running" }, { type: "Success" });
      await b.services.setFlowGroupSetting(run.flowId, "version_locking_enabled", true);
      const refused = await errorOf(engineWrites(b, run.a, { type: "Cached" }));
      expect((refused as any).code).toBe("VersionConflict");
      await b.services.setTaskRunStates([{ taskRunId: run.a, version: 3, state: { type: "Cached" } }]);
      expect((await stored(b, run.a)).state).toBe("Cached");
    });

    test("a flow run's final state may be written again too", async () => {
      const b = await openTestBackend({ kind });
      const run = await setup(b);
      await b.services.setFlowRunStates([{ flowRunId: run.runId, state: { type: "Success", message: "All reference tasks succeeded." } }]);
      await b.services.setFlowRunStates([{ flowRunId: run.runId, state: { type: "Success", message: "again" } }]);
      expect(await row(b, "SELECT state, state_message, version FROM flow_run WHERE id = $id", { id: run.runId })).toEqual({ state: "Success", state_message: "again", version: 4 });
      expect((await errorOf(b.services.setFlowRunStates([{ flowRunId: run.runId, state: { type: "Running" } }]))).message).toContain("Success → Running is not allowed");
    });
  });
});
