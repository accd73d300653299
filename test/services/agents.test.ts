import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, type TestBackend } from "./fixtures.ts";

let flowCount = 0;
function runWithLabels(b: TestBackend, labels: string[], offsetMs = 0) {
  const flowId = registerFlow(b, { name: `flow-${++flowCount}` }).id;
  return b.services.createFlowRun({ flowId, labels, scheduledStartTime: b.clock.iso(offsetMs) }).id;
}

describe("register_agent", () => {
  test("the same name, type and labels in any order give the same agent; new labels a new one", () => {
    const b = openTestBackend();
    const a = b.services.registerAgent({ name: "a", type: "local", labels: ["x", "y"] }).id;
    expect(b.services.registerAgent({ name: "a", type: "local", labels: ["y", "x", "x"] }).id).toBe(a);
    expect(b.services.registerAgent({ name: "a", type: "local", labels: ["x"] }).id).not.toBe(a);
    expect(b.services.registerAgent({ name: "a", type: "docker", labels: ["x", "y"] }).id).not.toBe(a);
  });
});

describe("get_runs_in_queue", () => {
  test("due Scheduled runs are returned oldest first; future ones are not", () => {
    const b = openTestBackend();
    const later = runWithLabels(b, [], 60_000);
    const first = runWithLabels(b, [], -2000);
    const second = runWithLabels(b, [], -1000);
    expect(b.services.getRunsInQueue({})).toEqual([first, second]);
    expect(b.services.getRunsInQueue({ before: b.clock.iso(120_000) })).toEqual([first, second, later]);
  });

  test("labels: a run goes only to agents whose labels include all of its labels", () => {
    const b = openTestBackend();
    const unlabeled = runWithLabels(b, []);
    const ab = runWithLabels(b, ["a", "b"]);
    expect(b.services.getRunsInQueue({ labels: [] })).toEqual([unlabeled]);
    expect(b.services.getRunsInQueue({ labels: ["a"] })).toEqual([unlabeled]);
    expect(b.services.getRunsInQueue({ labels: ["c", "d"] })).toEqual([unlabeled]);
    expect(new Set(b.services.getRunsInQueue({ labels: ["a", "b", "c"] }))).toEqual(new Set([unlabeled, ab]));
  });

  test("a Running flow run with a due Retrying task run is offered again", () => {
    const b = openTestBackend();
    const runId = runWithLabels(b, []);
    b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    const task = row(b.db, "SELECT id FROM task_run WHERE flow_run_id = $id", { id: runId }).id;
    b.services.setTaskRunStates([{ taskRunId: task, version: 1, state: { type: "Running" } }]);
    b.services.setTaskRunStates([{ taskRunId: task, version: 2, state: { type: "Retrying", startTime: b.clock.iso(10_000) } }]);
    expect(b.services.getRunsInQueue({})).toEqual([]);
    b.clock.advance(10_000);
    expect(b.services.getRunsInQueue({})).toEqual([runId]);
  });

  test("reading the queue takes nothing, records the agent's last query, and a state change dequeues", () => {
    const b = openTestBackend();
    const agentId = b.services.registerAgent({ type: "local" }).id;
    const runId = runWithLabels(b, []);
    expect(b.services.getRunsInQueue({ agentId })).toEqual([runId]);
    expect(b.services.getRunsInQueue({ agentId })).toEqual([runId]);
    expect(row(b.db, "SELECT last_queried FROM agent").last_queried).toBe(b.clock.iso());
    b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Submitted" } }]);
    expect(b.services.getRunsInQueue({ agentId })).toEqual([]);
  });

  test("at most 25 runs are returned by default", () => {
    const b = openTestBackend();
    const flowId = registerFlow(b).id;
    for (let i = 0; i < 30; i++) b.services.createFlowRun({ flowId });
    expect(b.services.getRunsInQueue({})).toHaveLength(25);
  });
});

describe("claimRuns", () => {
  test("claiming moves due runs Scheduled → Submitted with the agent recorded, versioned", () => {
    const b = openTestBackend();
    const agentId = b.services.registerAgent({ type: "local", labels: ["gpu"] }).id;
    const mine = runWithLabels(b, ["gpu"]);
    const notMine = runWithLabels(b, ["tpu"]);
    const claimed = b.services.claimRuns({ agentId, limit: 10 });
    expect(claimed.map((c) => [c.id, c.version, c.previousState])).toEqual([[mine, 2, "Scheduled"]]);
    expect(row(b.db, "SELECT state, state_message, agent_id FROM flow_run WHERE id = $id", { id: mine })).toEqual({
      state: "Submitted",
      state_message: "Submitted for execution",
      agent_id: agentId,
    });
    expect(row(b.db, "SELECT state FROM flow_run WHERE id = $id", { id: notMine }).state).toBe("Scheduled");
  });

  test("two agents never both take a run", () => {
    const b = openTestBackend();
    const flowId = registerFlow(b).id;
    const runs = Array.from({ length: 7 }, () => b.services.createFlowRun({ flowId }).id);
    const one = b.services.registerAgent({ name: "one", type: "local" }).id;
    const two = b.services.registerAgent({ name: "two", type: "local" }).id;
    const taken = [
      ...b.services.claimRuns({ agentId: one, limit: 3 }),
      ...b.services.claimRuns({ agentId: two, limit: 10 }),
      ...b.services.claimRuns({ agentId: one, limit: 10 }),
    ].map((c) => c.id);
    expect(taken.sort()).toEqual([...runs].sort());
  });

  test("an unknown agent cannot claim", () => {
    const b = openTestBackend();
    expect(() => b.services.claimRuns({ agentId: crypto.randomUUID(), limit: 1 })).toThrow(/register it first/);
  });
});
