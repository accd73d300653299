import { describe, expect, test } from "bun:test";
import { LocalRun, runConfigFromRow, toRunConfig, UniversalRun } from "../../src/core/run-config.ts";

describe("run configs", () => {
  test("LocalRun and UniversalRun carry their type; their JSON is { type, env, labels }", () => {
    expect(new LocalRun({ env: { A: "1" }, labels: ["x"] }).toJSON()).toEqual({ type: "LocalRun", env: { A: "1" }, labels: ["x"] });
    expect(new UniversalRun().toJSON()).toEqual({ type: "UniversalRun", env: {}, labels: [] });
  });

  test("a plain object is a UniversalRun; bad env or labels are refused in one line", () => {
    expect(toRunConfig({ labels: ["a"] })).toBeInstanceOf(UniversalRun);
    expect(toRunConfig({ type: "LocalRun" })).toBeInstanceOf(LocalRun);
    expect(() => toRunConfig({ env: { A: 1 } } as never)).toThrow("UniversalRun env must be an object of string values");
    expect(() => new LocalRun({ labels: "gpu" } as never)).toThrow("LocalRun labels must be a list of strings");
  });

  test("a stored row without a type (registered before run configs had one) reads as a UniversalRun; odd values are left out", () => {
    expect(runConfigFromRow({ env: { A: "1" }, labels: ["a"] })).toEqual(new UniversalRun({ env: { A: "1" }, labels: ["a"] }));
    expect(runConfigFromRow({ type: "LocalRun", env: { A: 2, B: "b" }, labels: "x", image: "y" })).toEqual(new LocalRun({ env: { B: "b" } }));
    expect(runConfigFromRow(null)).toBeNull();
  });

  test("reuseProcess (prefectlite's) is true or false, kept in the JSON only when set, and read back from a row", () => {
    expect(new LocalRun({ reuseProcess: false }).toJSON()).toEqual({ type: "LocalRun", env: {}, labels: [], reuseProcess: false });
    expect(toRunConfig({ reuseProcess: true }).reuseProcess).toBe(true);
    expect(() => new UniversalRun({ reuseProcess: "yes" } as never)).toThrow("UniversalRun reuseProcess must be true or false");
    expect(runConfigFromRow({ reuseProcess: true })?.reuseProcess).toBe(true);
    expect(runConfigFromRow({ reuseProcess: "yes" })?.reuseProcess).toBeUndefined();
  });
});
