import { expect, test } from "bun:test";
import { STATE_TYPES } from "../../src/core/state.ts";
import { isFinished, stateClass } from "../../src/ui/format.ts";
import { STYLES } from "../../src/ui/styles.ts";

test("every state type has a colour the stylesheet defines, Prefect's new ones in their families", () => {
  for (const type of STATE_TYPES) {
    const cls = stateClass(type);
    expect({ type, defined: STYLES.includes(`.${cls} {`) && STYLES.includes(`svg .${cls} {`) }).toEqual({ type, defined: true });
  }
  expect(["Cached", "Paused", "Resume", "Looped", "ValidationFailed"].map(stateClass)).toEqual(["st-success", "st-paused", "st-scheduled", "st-running", "st-failed"]);
});

test("a run has finished when its state is final: a Looped one has not", () => {
  expect(["Cached", "ValidationFailed", "Success"].map(isFinished)).toEqual([true, true, true]);
  expect(["Looped", "Paused", "Resume", "Running", "nonsense"].map(isFinished)).toEqual([false, false, false, false, false]);
});
