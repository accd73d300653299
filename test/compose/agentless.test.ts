import { describe, expect, test } from "bun:test";
import { executeCommand, liveAgentCovers } from "../../src/sdk/agentless.ts";

describe("which agents count", () => {
  test("an agent that has not polled for over a minute is not live", () => {
    const now = Date.parse("2024-01-01T12:00:00Z");
    const agent = (ago: number, labels: string[] = []) => ({ name: "a", labels, last_queried: new Date(now - ago).toISOString() });
    expect(liveAgentCovers([agent(5_000)], [], now)).toBe(true);
    expect(liveAgentCovers([agent(120_000)], [], now)).toBe(false);
    expect(liveAgentCovers([agent(5_000, ["a"])], ["a", "b"], now)).toBe(false);
    expect(liveAgentCovers([agent(5_000, ["a", "b", "c"])], ["a", "b"], now)).toBe(true);
    expect(liveAgentCovers([{ name: "never", labels: [], last_queried: null }], [], now)).toBe(false);
  });
});

describe("the agentless command", () => {
  test("is prefectlite's own entry run by this Bun, never argv[0]", () => {
    const command = executeCommand("abc");
    expect(command[0]).toBe(process.execPath);
    expect(command[1]).toEndWith("src/main.ts");
    expect(command.slice(2)).toEqual(["execute", "flow-run", "abc"]);
  });
});
