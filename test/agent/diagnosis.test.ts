import { describe, expect, test } from "bun:test";
import { agentCovers, diagnoseWaitingRun, healthyWithinMs, uncoveredRunWarning, type AgentInfo } from "../../src/core/agent-diagnosis.ts";

const NOW = new Date("2024-01-01T12:00:00.000Z");
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const agent = (name: string, labels: string[], lastPolledSecondsAgo: number | null): AgentInfo => ({
  id: `id-${name}`,
  name,
  labels,
  lastQueried: lastPolledSecondsAgo === null ? null : secondsAgo(lastPolledSecondsAgo),
});
const diagnose = (labels: string[], agents: AgentInfo[], state = "Scheduled") => diagnoseWaitingRun({ labels, state }, agents, NOW, 60_000);

describe("which agents cover a run", () => {
  test("an agent covers a run when its labels include all of the run's", () => {
    expect(agentCovers(["a", "b"], ["a"])).toBe(true);
    expect(agentCovers(["a"], ["a", "b"])).toBe(false);
    expect(agentCovers([], [])).toBe(true);
    expect(agentCovers([], ["a"])).toBe(false);
  });

  test("healthy means polled within a minute, or three polls when polls are slower", () => {
    expect(healthyWithinMs(2)).toBe(60_000);
    expect(healthyWithinMs(30)).toBe(90_000);
  });

  test("creating a run no registered agent covers warns, naming the labels to start one with", () => {
    expect(uncoveredRunWarning(["gpu", "big"], [agent("cpu", ["cpu"], 1)])).toBe(
      "Warning: no registered agent has labels that include all of this run's labels [gpu, big], so no agent will take this run until one is started: prefectlite agent start --label gpu --label big",
    );
    expect(uncoveredRunWarning([], [])).toContain("no agent is registered");
    expect(uncoveredRunWarning(["gpu"], [agent("g", ["gpu", "x"], null)])).toBeUndefined();
  });
});

describe("why a waiting run has not started", () => {
  test("no agent at all: the command to start one", () => {
    expect(diagnose(["gpu"], [])).toBe(
      "No registered agent has labels that include all of this run's labels [gpu]. Start one with: prefectlite agent start --label gpu",
    );
    expect(diagnose([], [])).toContain("No agent is running. Start one with: prefectlite agent start (or prefectlite serve");
  });

  test("healthy agents whose labels do not match", () => {
    expect(diagnose(["gpu"], [agent("cpu", ["cpu"], 3), agent("other", [], 5)])).toBe(
      "You have 2 healthy agent(s), but none whose labels include all of this run's labels [gpu]. Start one with: prefectlite agent start --label gpu",
    );
  });

  test("one matching agent that stopped polling: named, with when it last polled", () => {
    expect(diagnose(["gpu"], [agent("box", ["gpu"], 300)])).toBe(
      "Agent 'box' (id-box) has matching labels but last polled 5 minutes ago: it looks stopped. Restart it: prefectlite agent start --label gpu --name box",
    );
    expect(diagnose([], [agent("never", [], null)])).toContain("last polled never");
  });

  test("several stale matching agents", () => {
    expect(diagnose(["a"], [agent("one", ["a"], 100), agent("two", ["a", "b"], 4000)])).toBe(
      "2 agents have matching labels but none has polled recently: 'one' (last polled 100 s ago), 'two' (last polled 67 minutes ago). Restart one: prefectlite agent start --label a",
    );
  });

  test("a healthy matching agent should pick it up; several too", () => {
    expect(diagnose(["a"], [agent("live", ["a"], 2), agent("dead", ["a"], 999)])).toStartWith(
      "Agent 'live' (id-live) has matching labels and last polled 2 s ago. It should pick up your flow run",
    );
    expect(diagnose([], [agent("p", [], 1), agent("q", ["z"], 1)])).toStartWith("2 healthy agents have matching labels ('p', 'q')");
  });

  test("a run an agent took but whose process has not started", () => {
    expect(diagnose([], [agent("p", [], 1)], "Submitted")).toContain("An agent took it (Submitted)");
  });
});
