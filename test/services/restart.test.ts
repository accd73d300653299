import { describe, expect, test } from "bun:test";
import type { SerializedEdge, SerializedFlow } from "../../src/core/serialize.ts";
import { openTestBackend, row, rows, serializedFlow, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const code = (c: string) => expect.objectContaining({ code: c });
  const RESULT = { type: "LocalResult", location: "a-1.json" };

  /** A flow of these task slugs and edges (`mapped` edges map the downstream over the upstream). */
  function flowOf(slugs: string[], edges: Array<[string, string, "mapped"?]>): SerializedFlow {
    const base = serializedFlow({ tasks: slugs });
    const list: SerializedEdge[] = edges.map(([upstream, downstream, mapped]) => ({ upstream, downstream, key: 0, mapped: mapped === "mapped" }));
    return { ...base, edges: list };
  }

  interface Setup {
    b: TestBackend;
    runId: string;
    /** Set task run `slug` (or `slug[i]`) to a state. */
    set(key: string, type: string, extra?: object): Promise<void>;
    /** Flow run Running, then its final state. */
    end(type: string): Promise<void>;
    /** State type by "slug" / "slug[i]". */
    states(): Promise<Record<string, string>>;
  }

  async function setup(flow: SerializedFlow, children: Record<string, number> = {}): Promise<Setup> {
    const b = await openTestBackend({ kind });
    const flowId = (await b.services.createFlow({ serializedFlow: flow, projectId: b.projectId })).id;
    const runId = (await b.services.createFlowRun({ flowId })).id;
    await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    for (const [slug, count] of Object.entries(children)) await b.services.getOrCreateMappedTaskRuns({ flowRunId: runId, taskSlug: slug, count });
    const find = async (key: string) => {
      const m = /^(.+?)(?:\[(\d+)\])?$/.exec(key)!;
      return await row(b, "SELECT id, version FROM task_run WHERE flow_run_id = $run AND task_slug = $slug AND map_index = $i", {
        run: runId,
        slug: m[1],
        i: m[2] === undefined ? -1 : Number(m[2]),
      });
    };
    return {
      b,
      runId,
      async set(key, type, extra = {}) {
        const t = await find(key);
        await b.services.setTaskRunStates([{ taskRunId: t.id, version: t.version, state: { type, ...extra } }]);
      },
      async end(type) {
        const run = await row(b, "SELECT version FROM flow_run WHERE id = $id", { id: runId });
        await b.services.setFlowRunStates([{ flowRunId: runId, version: run.version, state: { type } }]);
      },
      async states() {
        const list = await rows(b, "SELECT task_slug, map_index, state FROM task_run WHERE flow_run_id = $id", { id: runId });
        return Object.fromEntries(list.map((r) => [r.map_index < 0 ? r.task_slug : `${r.task_slug}[${r.map_index}]`, r.state]));
      },
    };
  }

  describe("restartFlowRun", () => {
    test("failed task runs and everything downstream go back to Pending; the others keep their states and results", async () => {
      const s = await setup(flowOf(["a-1", "b-1", "c-1", "d-1"], [["a-1", "b-1"], ["b-1", "c-1"]]));
      await s.set("a-1", "Success", { result: RESULT });
      await s.set("b-1", "Failed");
      await s.set("c-1", "TriggerFailed");
      await s.set("d-1", "Success");
      await s.end("Failed");

      const result = await s.b.services.restartFlowRun({ flowRunId: s.runId, restartedBy: "the UI" });

      expect(result).toMatchObject({ id: s.runId, state: "Scheduled", restartedTaskRuns: 2, keptTaskRuns: 2 });
      expect(await s.states()).toEqual({ "a-1": "Success", "b-1": "Pending", "c-1": "Pending", "d-1": "Success" });
      const a = await row(s.b, "SELECT serialized_state, end_time FROM task_run WHERE task_slug = 'a-1'");
      expect(JSON.parse(a.serialized_state).result).toEqual(RESULT);
      expect(a.end_time).not.toBeNull();
      const b1 = await row(s.b, "SELECT state_message, start_time, end_time FROM task_run WHERE task_slug = 'b-1'");
      expect(b1).toEqual({ state_message: "Flow run restarted: this task run goes again (it was Failed)", start_time: null, end_time: null });
      const run = await row(s.b, "SELECT * FROM flow_run WHERE id = $id", { id: s.runId });
      expect(run).toMatchObject({ state: "Scheduled", version: result.version, end_time: null, state_start_time: s.b.clock.iso() });
      const history = await rows(s.b, "SELECT state, message FROM flow_run_state WHERE flow_run_id = $id ORDER BY version", { id: s.runId });
      expect(history.map((h) => h.state)).toEqual(["Scheduled", "Running", "Failed", "Scheduled"]);
      expect(history.at(-1)!.message).toBe("Flow run restarted by the UI: 2 task runs go again, 2 keep their states");
    });

    test("a task that succeeded downstream of a failure goes again too (its upstream will change)", async () => {
      const s = await setup(flowOf(["a-1", "cleanup-1"], [["a-1", "cleanup-1"]]));
      await s.set("a-1", "Failed");
      await s.set("cleanup-1", "Success");
      await s.end("Failed");
      await s.b.services.restartFlowRun({ flowRunId: s.runId });
      expect(await s.states()).toEqual({ "a-1": "Pending", "cleanup-1": "Pending" });
    });

    test("a mapped task: its failed children and the parent go again, its successful children keep Success", async () => {
      // list → inc (mapped over list) → double (mapped over inc) ; total reduces inc
      const flow = flowOf(
        ["list-1", "inc-1", "double-1", "total-1"],
        [
          ["list-1", "inc-1", "mapped"],
          ["inc-1", "double-1", "mapped"],
          ["inc-1", "total-1"],
        ],
      );
      const s = await setup(flow, { "inc-1": 3, "double-1": 3 });
      await s.set("list-1", "Success");
      await s.set("inc-1", "Mapped");
      await s.set("inc-1[0]", "Success");
      await s.set("inc-1[1]", "Failed");
      await s.set("inc-1[2]", "Success");
      await s.set("double-1", "Mapped");
      await s.set("double-1[0]", "Success");
      await s.set("double-1[1]", "TriggerFailed");
      await s.set("double-1[2]", "Success");
      await s.set("total-1", "TriggerFailed");
      await s.end("Failed");

      const result = await s.b.services.restartFlowRun({ flowRunId: s.runId });

      expect(await s.states()).toEqual({
        "list-1": "Success",
        "inc-1": "Pending",
        "inc-1[0]": "Success",
        "inc-1[1]": "Pending",
        "inc-1[2]": "Success",
        "double-1": "Pending",
        "double-1[0]": "Success",
        "double-1[1]": "Pending",
        "double-1[2]": "Success",
        "total-1": "Pending",
      });
      expect(result).toMatchObject({ restartedTaskRuns: 5, keptTaskRuns: 5 });
    });

    test("a task mapping over a task that failed as a whole goes again entirely", async () => {
      const s = await setup(flowOf(["list-1", "inc-1"], [["list-1", "inc-1", "mapped"]]), { "inc-1": 2 });
      await s.set("list-1", "Success");
      await s.set("inc-1", "Mapped");
      await s.set("inc-1[0]", "Success");
      await s.set("inc-1[1]", "Success");
      await s.end("Failed");
      // the flow failed elsewhere (e.g. a process died): nothing here failed but it was not successful either
      const s2 = await setup(flowOf(["list-1", "inc-1"], [["list-1", "inc-1", "mapped"]]), { "inc-1": 2 });
      await s2.set("list-1", "TimedOut");
      await s2.set("inc-1", "TriggerFailed");
      await s2.end("Failed");
      await s2.b.services.restartFlowRun({ flowRunId: s2.runId });
      expect(await s2.states()).toEqual({ "list-1": "Pending", "inc-1": "Pending", "inc-1[0]": "Pending", "inc-1[1]": "Pending" });
      await s.b.services.restartFlowRun({ flowRunId: s.runId });
      expect(await s.states()).toEqual({ "list-1": "Success", "inc-1": "Mapped", "inc-1[0]": "Success", "inc-1[1]": "Success" });
    });

    test("a cancelled run: its Cancelled task runs go again; agent, agentless label and Lazarus's count are reset", async () => {
      const s = await setup(flowOf(["a-1", "b-1"], [["a-1", "b-1"]]));
      await s.set("a-1", "Success");
      await s.b.sql("UPDATE flow_run SET labels = '[\"gpu\",\"agentless-run-0badf00d\"]', times_resurrected = 2 WHERE id = ?", [s.runId]);
      await s.end("Cancelled");
      expect(await s.states()).toEqual({ "a-1": "Success", "b-1": "Cancelled" });

      const result = await s.b.services.restartFlowRun({ flowRunId: s.runId });
      expect(await s.states()).toEqual({ "a-1": "Success", "b-1": "Pending" });
      expect(result.labels).toEqual(["gpu"]);
      expect(await row(s.b, "SELECT labels, times_resurrected, agent_id FROM flow_run")).toEqual({ labels: '["gpu"]', times_resurrected: 0, agent_id: null });
    });

    test("agentless: the run gets a fresh agentless-run label, so no agent takes it", async () => {
      const s = await setup(flowOf(["a-1"], []));
      await s.set("a-1", "Failed");
      await s.end("Failed");
      const result = await s.b.services.restartFlowRun({ flowRunId: s.runId, agentless: true });
      expect(result.labels).toEqual([expect.stringMatching(/^agentless-run-[0-9a-f]{8}$/)]);
      const agent = await s.b.services.registerAgent({ type: "test", labels: [] });
      expect(await s.b.services.claimRuns({ agentId: agent.id, limit: 5 })).toEqual([]);
    });

    test("a restarted run is taken by an agent like a new one", async () => {
      const s = await setup(flowOf(["a-1"], []));
      await s.set("a-1", "Failed");
      await s.end("Failed");
      const { version } = await s.b.services.restartFlowRun({ flowRunId: s.runId });
      const agent = await s.b.services.registerAgent({ type: "test", labels: [] });
      const claimed = await s.b.services.claimRuns({ agentId: agent.id, limit: 5 });
      expect(claimed).toEqual([expect.objectContaining({ id: s.runId, previousState: "Scheduled", version: version + 1 })]);
    });

    test("a run still going, or one that succeeded, is refused with one line and nothing changes", async () => {
      const s = await setup(flowOf(["a-1"], []));
      await expect(s.b.services.restartFlowRun({ flowRunId: s.runId })).rejects.toThrow(
        `Flow run ${s.runId} was not restarted: it is Running, not finished: only a run that failed or was cancelled can be restarted (cancel it first to stop it)`,
      );
      await s.set("a-1", "Success");
      await s.end("Success");
      const before = await row(s.b, "SELECT * FROM flow_run");
      await expect(s.b.services.restartFlowRun({ flowRunId: s.runId })).rejects.toThrow(code("Conflict"));
      await expect(s.b.services.restartFlowRun({ flowRunId: s.runId })).rejects.toThrow(/it ended Success: only a run that failed or was cancelled/);
      expect(await row(s.b, "SELECT * FROM flow_run")).toEqual(before);
      expect(await s.states()).toEqual({ "a-1": "Success" });
    });

    test("an unknown or malformed id, or a bad restarted_by, is one clear error", async () => {
      const s = await setup(flowOf(["a-1"], []));
      await expect(s.b.services.restartFlowRun({ flowRunId: crypto.randomUUID() })).rejects.toThrow(code("NotFound"));
      await expect(s.b.services.restartFlowRun({ flowRunId: "nope" })).rejects.toThrow(code("Validation"));
      await s.end("Failed");
      await expect(s.b.services.restartFlowRun({ flowRunId: s.runId, restartedBy: "a\nb" })).rejects.toThrow(/restarted_by must be one line/);
      expect((await row(s.b, "SELECT state FROM flow_run")).state).toBe("Failed");
    });
  });
});
