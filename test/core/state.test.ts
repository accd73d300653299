import { describe, expect, test } from "bun:test";
import {
  Cached,
  Cancelled,
  Cancelling,
  Failed,
  Finished,
  Looped,
  Mapped,
  Paused,
  Pending,
  Queued,
  Resume,
  Retrying,
  Running,
  Scheduled,
  Skipped,
  Submitted,
  Success,
  TimedOut,
  TriggerFailed,
  ValidationFailed,
  canTransition,
  isFinalType,
  isStateType,
  makeState,
  stateFromJSON,
  STATE_TYPES,
  type StateType,
} from "../../src/core/state.ts";

/** Prefect 1's hierarchy (its engine/state.py), written out independently of the implementation. */
const ANCESTORS: Record<StateType, string[]> = {
  Pending: [],
  Scheduled: ["Pending"],
  Retrying: ["Scheduled", "Pending"],
  Paused: ["Scheduled", "Pending"],
  Resume: ["Scheduled", "Pending"],
  Submitted: ["Pending"],
  Queued: ["Pending"],
  Running: [],
  Cancelling: ["Running"],
  Success: ["Finished"],
  Cached: ["Success", "Finished"],
  Looped: ["Finished"],
  Skipped: ["Success", "Finished"],
  Mapped: ["Success", "Finished"],
  Failed: ["Finished"],
  TriggerFailed: ["Failed", "Finished"],
  TimedOut: ["Failed", "Finished"],
  ValidationFailed: ["Failed", "Finished"],
  Cancelled: ["Finished"],
};
const kindOf = (t: StateType, k: string) => t === k || ANCESTORS[t].includes(k);

const CLASSES = {
  Pending,
  Scheduled,
  Submitted,
  Queued,
  Running,
  Retrying,
  Paused,
  Resume,
  Success,
  Cached,
  Looped,
  Failed,
  TriggerFailed,
  TimedOut,
  ValidationFailed,
  Skipped,
  Mapped,
  Cancelling,
  Cancelled,
} as const;

describe("state hierarchy", () => {
  test("there are exactly the fourteen state types of SPEC §2 and Prefect 1's Paused, Resume, Cached, Looped and ValidationFailed", () => {
    expect([...STATE_TYPES].sort() as string[]).toEqual(Object.keys(ANCESTORS).sort());
    expect(STATE_TYPES).toHaveLength(19);
    expect(isStateType("Success")).toBe(true);
    expect(isStateType("Finished")).toBe(false);
    expect(isStateType("ClientFailed")).toBe(false);
    expect(isStateType("success")).toBe(false);
  });

  for (const type of STATE_TYPES) {
    test(`${type}: class, parents and predicates`, () => {
      const state = makeState(type, { message: "m" });
      expect(state.type).toBe(type);
      expect(state).toBeInstanceOf(CLASSES[type]);
      expect(state.message).toBe("m");
      for (const parent of ANCESTORS[type]) {
        const cls = parent === "Finished" ? Finished : CLASSES[parent as StateType];
        expect(state).toBeInstanceOf(cls);
      }
      expect(state.isFinished()).toBe(kindOf(type, "Finished"));
      expect(state.isSuccessful()).toBe(kindOf(type, "Success"));
      expect(state.isFailed()).toBe(kindOf(type, "Failed"));
      expect(state.isRunning()).toBe(kindOf(type, "Running"));
      expect(state.isPending()).toBe(kindOf(type, "Pending"));
      expect(state.isScheduled()).toBe(kindOf(type, "Scheduled") || type === "Queued");
      expect(state.isRetrying()).toBe(type === "Retrying");
      expect(state.isSkipped()).toBe(type === "Skipped");
      expect(state.isMapped()).toBe(type === "Mapped");
      expect(state.isCancelled()).toBe(type === "Cancelled");
      expect(state.isCached()).toBe(type === "Cached");
      expect(state.isLooped()).toBe(type === "Looped");
    });
  }

  test("each state is exactly one of pending, running or finished", () => {
    for (const type of STATE_TYPES) {
      const s = makeState(type);
      expect([s.isPending(), s.isRunning(), s.isFinished()].filter(Boolean)).toHaveLength(1);
    }
  });

  test("a state survives its JSON form", () => {
    for (const type of STATE_TYPES) {
      const s = makeState(type, {
        message: `in ${type}`,
        timestamp: "2024-01-01T00:00:00.000Z",
        resultLocation: { type: "LocalResult", location: "/r/x.prefect_result" },
        startTime: "2024-01-01T00:01:00.000Z",
        runCount: 2,
        nMapStates: 3,
        result: { not: "serialized" },
      });
      const json = JSON.parse(JSON.stringify(s));
      expect(json.result).toEqual({ type: "LocalResult", location: "/r/x.prefect_result" });
      const back = stateFromJSON(json);
      expect(back.type).toBe(type);
      expect(back.toJSON()).toEqual(s.toJSON());
      expect(back.result).toBeUndefined();
    }
  });

  test("toString shows the type and message", () => {
    expect(String(new Failed("boom"))).toBe('<Failed: "boom">');
    expect(String(new Success())).toBe("<Success>");
    expect(new Running("x").message).toBe("x");
  });
});

describe("canTransition", () => {
  /** Final: finished, except Looped (its loop's next iteration follows). */
  const final = (t: StateType) => kindOf(t, "Finished") && t !== "Looped";
  /** What Prefect's engine writes over a final state: the same type again, or Cached over Success. */
  const rewrite = (from: StateType, to: StateType) => to === from || (from === "Success" && to === "Cached");

  test("final states are the finished ones but Looped", () => {
    expect(STATE_TYPES.filter(isFinalType).sort()).toEqual(STATE_TYPES.filter(final).sort());
    expect(isFinalType("Looped")).toBe(false);
    expect(isFinalType("Cached")).toBe(true);
  });

  for (const from of STATE_TYPES) {
    test(`from ${from} to every state`, () => {
      for (const to of STATE_TYPES) {
        const expected = final(from) ? rewrite(from, to) : from === "Cancelling" ? final(to) : true;
        expect({ from, to, ok: canTransition(from, to) }).toEqual({ from, to, ok: expected });
        const rerunExpected = final(from) ? rewrite(from, to) || to === "Scheduled" || to === "Pending" : expected;
        expect({ from, to, ok: canTransition(from, to, { rerun: true }) }).toEqual({ from, to, ok: rerunExpected });
      }
    });
  }

  test("the writes of Prefect's engine: Success → Cached, Cached → Cached, Looped → Running; never a final state's outcome changed", () => {
    expect(canTransition("Success", "Cached")).toBe(true);
    expect(canTransition("Cached", "Cached")).toBe(true);
    expect(canTransition("Success", "Success")).toBe(true);
    expect(canTransition("Looped", "Running")).toBe(true);
    expect(canTransition("Looped", "Cancelled")).toBe(true);
    expect(canTransition("Cached", "Success")).toBe(false);
    expect(canTransition("Success", "Failed")).toBe(false);
    expect(canTransition("Failed", "Success")).toBe(false);
    expect(canTransition("Cancelling", "Looped")).toBe(false);
  });
});
