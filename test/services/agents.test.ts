import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, times, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  let flowCount = 0;
  async function runWithLabels(b: TestBackend, labels: string[], offsetMs = 0) {
    const flowId = (await registerFlow(b, { name: `flow-${++flowCount}` })).id;
    return (await b.services.createFlowRun({ flowId, labels, scheduledStartTime: b.clock.iso(offsetMs) })).id;
  }

  describe("register_agent", () => {
    test("the same name, type and labels in any order give the same agent; new labels a new one", async () => {
      const b = await openTestBackend({ kind });
      const a = (await b.services.registerAgent({ name: "a", type: "local", labels: ["x", "y"] })).id;
      expect((await b.services.registerAgent({ name: "a", type: "local", labels: ["y", "x", "x"] })).id).toBe(a);
      expect((await b.services.registerAgent({ name: "a", type: "local", labels: ["x"] })).id).not.toBe(a);
      expect((await b.services.registerAgent({ name: "a", type: "docker", labels: ["x", "y"] })).id).not.toBe(a);
    });
  });

  describe("get_runs_in_queue", () => {
    test("due Scheduled runs are returned oldest first; future ones are not", async () => {
      const b = await openTestBackend({ kind });
      const later = await runWithLabels(b, [], 60_000);
      const first = await runWithLabels(b, [], -2000);
      const second = await runWithLabels(b, [], -1000);
      expect(await b.services.getRunsInQueue({})).toEqual([first, second]);
      expect(await b.services.getRunsInQueue({ before: b.clock.iso(120_000) })).toEqual([first, second, later]);
    });

    test("labels: a run goes only to agents whose labels include all of its labels", async () => {
      const b = await openTestBackend({ kind });
      const unlabeled = await runWithLabels(b, []);
      const ab = await runWithLabels(b, ["a", "b"]);
      expect(await b.services.getRunsInQueue({ labels: [] })).toEqual([unlabeled]);
      expect(await b.services.getRunsInQueue({ labels: ["a"] })).toEqual([unlabeled]);
      expect(await b.services.getRunsInQueue({ labels: ["c", "d"] })).toEqual([unlabeled]);
      expect(new Set(await b.services.getRunsInQueue({ labels: ["a", "b", "c"] }))).toEqual(new Set([unlabeled, ab]));
    });

    test("a Running flow run with a due Retrying task run is offered again", async () => {
      const b = await openTestBackend({ kind });
      const runId = await runWithLabels(b, []);
      await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
      const task = (await row(b, "SELECT id FROM task_run WHERE flow_run_id = $id", { id: runId })).id;
      await b.services.setTaskRunStates([{ taskRunId: task, version: 1, state: { type: "Running" } }]);
      await b.services.setTaskRunStates([{ taskRunId: task, version: 2, state: { type: "Retrying", startTime: b.clock.iso(10_000) } }]);
      expect(await b.services.getRunsInQueue({})).toEqual([]);
      b.clock.advance(10_000);
      expect(await b.services.getRunsInQueue({})).toEqual([runId]);
    });

    test("reading the queue takes nothing, records the agent's last query, and a state change dequeues", async () => {
      const b = await openTestBackend({ kind });
      const agentId = (await b.services.registerAgent({ type: "local" })).id;
      const runId = await runWithLabels(b, []);
      expect(await b.services.getRunsInQueue({ agentId })).toEqual([runId]);
      expect(await b.services.getRunsInQueue({ agentId })).toEqual([runId]);
      expect((await row(b, "SELECT last_queried FROM agent")).last_queried).toBe(b.clock.iso());
      await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Submitted" } }]);
      expect(await b.services.getRunsInQueue({ agentId })).toEqual([]);
    });

    test("at most 25 runs are returned by default", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      for (let i = 0; i < 30; i++) await b.services.createFlowRun({ flowId });
      expect(await b.services.getRunsInQueue({})).toHaveLength(25);
    });
  });

  describe("claimRuns", () => {
    test("claiming moves due runs Scheduled → Submitted with the agent recorded, versioned", async () => {
      const b = await openTestBackend({ kind });
      const agentId = (await b.services.registerAgent({ type: "local", labels: ["gpu"] })).id;
      const mine = await runWithLabels(b, ["gpu"]);
      const notMine = await runWithLabels(b, ["tpu"]);
      const claimed = await b.services.claimRuns({ agentId, limit: 10 });
      expect(claimed.map((c) => [c.id, c.version, c.previousState])).toEqual([[mine, 2, "Scheduled"]]);
      expect(await row(b, "SELECT state, state_message, agent_id FROM flow_run WHERE id = $id", { id: mine })).toEqual({
        state: "Submitted",
        state_message: "Submitted for execution",
        agent_id: agentId,
      });
      expect((await row(b, "SELECT state FROM flow_run WHERE id = $id", { id: notMine })).state).toBe("Scheduled");
    });

    test("two agents never both take a run", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      const runs = await times(7, async () => (await b.services.createFlowRun({ flowId })).id);
      const one = (await b.services.registerAgent({ name: "one", type: "local" })).id;
      const two = (await b.services.registerAgent({ name: "two", type: "local" })).id;
      const taken = [
        ...(await b.services.claimRuns({ agentId: one, limit: 3 })),
        ...(await b.services.claimRuns({ agentId: two, limit: 10 })),
        ...(await b.services.claimRuns({ agentId: one, limit: 10 })),
      ].map((c) => c.id);
      expect(taken.sort()).toEqual([...runs].sort());
    });

    test("an unknown agent cannot claim", async () => {
      const b = await openTestBackend({ kind });
      await expect(b.services.claimRuns({ agentId: crypto.randomUUID(), limit: 1 })).rejects.toThrow(/register it first/);
    });
  });
});
