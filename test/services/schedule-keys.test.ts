import { describe, expect, test } from "bun:test";
import { autoScheduledKey } from "../../src/services/schedule-runs.ts";

describe("autoScheduledKey()", () => {
  test("is the key runs already scheduled were stored with (their md5 suffix unchanged), so none is scheduled twice", () => {
    const at = new Date("2024-01-01T13:00:00Z");
    expect(autoScheduledKey({ startTime: at, parameterDefaults: {}, labels: [] })).toBe("auto-scheduled:2024-01-01T13:00:00.000Z");
    // As node:crypto's md5 computed it before.
    expect(autoScheduledKey({ startTime: at, parameterDefaults: { n: 1, who: "wörld" }, labels: ["b", "a"] })).toBe(
      "auto-scheduled:2024-01-01T13:00:00.000Z:0a805a09a36c54be370d713a2190456a",
    );
  });
});
