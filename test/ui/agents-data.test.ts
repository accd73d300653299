import { describe, expect, test } from "bun:test";
import { agentHealth, coverageOf, type AgentView } from "../../src/ui/agents-data.ts";

const now = new Date("2024-01-01T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const agent = (labels: string[], lastQueried: string | null): AgentView => ({
  id: "a",
  name: "a",
  type: "t",
  labels,
  lastQueried,
  created: null,
  health: agentHealth(lastQueried, now),
});

describe("agent health", () => {
  test("healthy within a minute, late within ten, silent after or never", () => {
    expect(agentHealth(ago(59_000), now)).toBe("healthy");
    expect(agentHealth(ago(5 * 60_000), now)).toBe("late");
    expect(agentHealth(ago(11 * 60_000), now)).toBe("silent");
    expect(agentHealth(null, now)).toBe("silent");
  });
});

describe("which agents could take a run", () => {
  test("an agent covers a run when its labels include all of the run's", () => {
    expect(coverageOf([agent(["a", "b"], ago(1000))], ["a"])).toEqual({ covered: true, healthy: true });
    expect(coverageOf([agent(["a"], ago(1000))], ["a", "b"])).toEqual({ covered: false, healthy: false });
    expect(coverageOf([agent([], ago(1000))], [])).toEqual({ covered: true, healthy: true });
    expect(coverageOf([agent([], ago(1000))], ["a"]).covered).toBe(false);
    expect(coverageOf([], [])).toEqual({ covered: false, healthy: false });
  });

  test("a covering agent that stopped polling is covered but not healthy", () => {
    expect(coverageOf([agent(["a"], ago(20 * 60_000))], ["a"])).toEqual({ covered: true, healthy: false });
  });
});
