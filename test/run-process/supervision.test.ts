import { describe, expect, test } from "bun:test";
import type { RunStanding } from "../../src/run-process/backend.ts";
import { judgeRunProcess, type ProcessWatch, type SupervisionLimits } from "../../src/run-process/supervision.ts";

const limits: SupervisionLimits = { startTimeoutMs: 1_000, endedRunGraceMs: 500, cancelGraceMs: 2_000 };
const at = (state: RunStanding["state"]): RunStanding => ({ state, version: 3 });

describe("the rules of a flow run's process", () => {
  test("a run still Submitted after the start timeout: kill, and fail the run saying the flow file may hang at import", () => {
    const watch: ProcessWatch = { launchedAt: 0 };
    expect(judgeRunProcess(watch, at("Submitted"), 42, 999, limits)).toBeUndefined();
    expect(judgeRunProcess(watch, at("Submitted"), 42, 1_000, limits)).toEqual({
      message: "The flow run process (PID 42) did not start the run within 1 s (PREFECTLITE_AGENT_START_TIMEOUT_SECONDS): killed it; does the flow file hang at import?",
      end: "Failed",
    });
  });

  test("a Running run is left alone however long it runs", () => {
    expect(judgeRunProcess({ launchedAt: 0 }, at("Running"), 42, 10_000_000, limits)).toBeUndefined();
  });

  test("a run Cancelling for the cancel grace period: kill, and end the run Cancelled", () => {
    const watch: ProcessWatch = { launchedAt: 0 };
    expect(judgeRunProcess(watch, at("Cancelling"), 42, 5_000, limits)).toBeUndefined();
    expect(judgeRunProcess(watch, at("Cancelling"), 42, 6_999, limits)).toBeUndefined();
    expect(judgeRunProcess(watch, at("Cancelling"), 42, 7_000, limits)).toEqual({
      message: "The flow run was cancelled, but its process (PID 42) was still running 2 s later (PREFECTLITE_CANCEL_GRACE_SECONDS): killed it",
      end: "Cancelled",
    });
  });

  test("a run finished, rescheduled or deleted elsewhere for the ended-run grace: kill, and write nothing on the run", () => {
    for (const run of [at("Failed"), at("Cancelled"), at("Success"), at("Scheduled"), undefined]) {
      const watch: ProcessWatch = { launchedAt: 0 };
      expect(judgeRunProcess(watch, run, 42, 100, limits)).toBeUndefined();
      const verdict = judgeRunProcess(watch, run, 42, 600, limits);
      expect(verdict?.end).toBeUndefined();
      expect(verdict?.message).toBe(`The flow run ${run ? `is ${run.state}` : "no longer exists"}, but its process (PID 42) was still alive 0.5 s later: killed it`);
    }
  });

  test("the grace periods start again when the run comes back (a Lazarus reschedule taken again, a cancel that passed)", () => {
    const watch: ProcessWatch = { launchedAt: 0 };
    judgeRunProcess(watch, at("Scheduled"), 42, 100, limits);
    judgeRunProcess(watch, at("Running"), 42, 400, limits);
    expect(judgeRunProcess(watch, at("Failed"), 42, 700, limits)).toBeUndefined();
    judgeRunProcess(watch, at("Cancelling"), 42, 800, limits);
    judgeRunProcess(watch, at("Running"), 42, 900, limits);
    expect(judgeRunProcess(watch, at("Cancelling"), 42, 2_900, limits)).toBeUndefined();
  });
});
