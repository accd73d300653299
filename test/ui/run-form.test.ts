import { describe, expect, test } from "bun:test";
import { parseLabels, parseParameters, readRunForm } from "../../src/ui/run-form.ts";

describe("the Run form's fields", () => {
  test("parameters: a JSON object, blank for none", () => {
    expect(parseParameters('{"n": 3, "name": "x"}')).toEqual({ value: { n: 3, name: "x" } });
    expect(parseParameters("  ")).toEqual({ value: {} });
  });

  test("parameters: malformed JSON and non-objects are messages, not exceptions", () => {
    expect((parseParameters("{n: 3}") as { error: string }).error).toStartWith("Parameters are not valid JSON: ");
    for (const text of ["[]", "3", '"x"', "null"]) {
      expect(parseParameters(text)).toEqual({ error: 'Parameters must be a JSON object, such as {"name": "Marvin"}' });
    }
  });

  test("labels: split on commas and spaces, sorted, without duplicates", () => {
    expect(parseLabels(" b, a  c,,a ")).toEqual(["a", "b", "c"]);
    expect(parseLabels("")).toEqual([]);
  });

  test("an unknown log level falls back to INFO; fields missing from the body are empty", () => {
    expect(readRunForm({ log_level: "debug" }).logLevel).toBe("DEBUG");
    expect(readRunForm({ log_level: "LOUD" })).toEqual({ parameters: "", runName: "", labels: "", logLevel: "INFO", startAt: "" });
  });
});
