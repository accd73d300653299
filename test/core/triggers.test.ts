import { describe, expect, test } from "bun:test";
import { Failed, Mapped, Skipped, Success, TimedOut, TriggerFailed, Cancelled, type State } from "../../src/core/state.ts";
import { allFailed, allFinished, allSuccessful, always, anyFailed, anySuccessful, TRIGGERS } from "../../src/core/triggers.ts";

const ok = new Success();
const bad = new Failed();
const cases: Array<[string, State[]]> = [
  ["none", []],
  ["all ok", [ok, new Skipped(), new Mapped()]],
  ["mixed", [ok, bad]],
  ["all failed", [bad, new TriggerFailed(), new TimedOut()]],
  ["cancelled", [new Cancelled()]],
];

describe("triggers", () => {
  test("allSuccessful runs only when every upstream succeeded (Skipped and Mapped count)", () => {
    expect(cases.map(([n, s]) => [n, allSuccessful.check(s)])).toEqual([
      ["none", true],
      ["all ok", true],
      ["mixed", false],
      ["all failed", false],
      ["cancelled", false],
    ]);
  });

  test("allFinished (alias always) runs whatever the outcome", () => {
    expect(always).toBe(allFinished);
    for (const [, states] of cases) expect(allFinished.check(states)).toBe(true);
  });

  test("anyFailed runs when one upstream failed", () => {
    expect(cases.map(([n, s]) => [n, anyFailed.check(s)])).toEqual([
      ["none", true],
      ["all ok", false],
      ["mixed", true],
      ["all failed", true],
      ["cancelled", false],
    ]);
  });

  test("anySuccessful runs when one upstream succeeded", () => {
    expect(cases.map(([n, s]) => [n, anySuccessful.check(s)])).toEqual([
      ["none", true],
      ["all ok", true],
      ["mixed", true],
      ["all failed", false],
      ["cancelled", false],
    ]);
  });

  test("allFailed runs when every upstream failed", () => {
    expect(cases.map(([n, s]) => [n, allFailed.check(s)])).toEqual([
      ["none", true],
      ["all ok", false],
      ["mixed", false],
      ["all failed", true],
      ["cancelled", false],
    ]);
  });

  test("triggers are known by their serialized names", () => {
    expect(Object.keys(TRIGGERS).sort()).toEqual(["all_failed", "all_finished", "all_successful", "any_failed", "any_successful"]);
  });
});
