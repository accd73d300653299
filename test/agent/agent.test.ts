import { afterEach, describe, expect, test } from "bun:test";
import { agentWorld, until, type AgentWorld } from "./helpers.ts";

let world: AgentWorld;
afterEach(() => world?.close());

/** Run one agent pass and wait for every child it started to record itself. */
async function pass(w: AgentWorld, agent: ReturnType<AgentWorld["agent"]>): Promise<number> {
  const started = await agent.runOnce();
  await until(() => agent.running.every((id) => w.record(id) !== undefined), "the children to start");
  return started;
}

describe("an agent", () => {
  test("takes a due run, executes `execute flow-run ID` with the run config's env and PREFECTLITE_HOME, and logs the PID", async () => {
    world = await agentWorld({ PREFECTLITE_API_URL: "http://127.0.0.1:1/should-not-leak" });
    const flowId = await world.flowId({ env: { RUN_CONFIG_GREETING: "hello" } });
    const runId = await world.run(flowId);
    const agent = world.agent({ name: "laptop" });
    expect(await pass(world, agent)).toBe(1);
    const record = world.record(runId)!;
    expect(record.argv).toEqual(["execute", "flow-run", runId]);
    expect(record.env.RUN_CONFIG_GREETING).toBe("hello");
    expect(record.env.PREFECTLITE_HOME).toBe(world.home);
    expect(record.env.PREFECTLITE_API_URL).toBeUndefined();
    expect((await world.state(runId))).toBe("Submitted");
    const run = (await world.sql<{ agent_id: string }>("SELECT agent_id FROM flow_run WHERE id = $id", { id: runId }))[0]!;
    expect(run.agent_id).toBe(agent.id!);
    const logs = (await world.sql("SELECT name, level, message FROM log WHERE flow_run_id = $id", { id: runId }));
    expect(logs).toEqual([{ name: "laptop", level: "INFO", message: `Submitted for execution: PID ${record.pid}` }]);
    await agent.stop(10_000);
  });

  test("registers with its name and labels and records its polls", async () => {
    world = await agentWorld();
    const agent = world.agent({ name: "gpu-box", labels: ["gpu", "big", "gpu"] });
    expect(await agent.runOnce()).toBe(0);
    const row = (await world.sql<Record<string, string>>("SELECT name, labels, last_queried FROM agent WHERE id = $id", { id: agent.id! }))[0]!;
    expect([row.name, JSON.parse(row.labels!)]).toEqual(["gpu-box", ["big", "gpu"]]);
    expect(row.last_queried).not.toBeNull();
  });

  test("labels: it takes a run only if its labels include all of the run's; with no labels, only runs with none", async () => {
    world = await agentWorld({ AGENT_TEST_EXIT_CODE: "0" });
    const flowId = await world.flowId();
    const none = await world.run(flowId, []);
    const gpu = await world.run(flowId, ["gpu"]);
    const gpuBig = await world.run(flowId, ["big", "gpu"]);
    const unlabeled = world.agent({ name: "plain" });
    await pass(world, unlabeled);
    await until(() => world.record(none) !== undefined, "the unlabeled run's process");
    expect([(await world.state(none)), (await world.state(gpu)), (await world.state(gpuBig))]).toEqual(["Submitted", "Scheduled", "Scheduled"]);
    const onlyGpu = world.agent({ name: "gpu", labels: ["gpu"] });
    await pass(world, onlyGpu);
    expect([(await world.state(gpu)), (await world.state(gpuBig))]).toEqual(["Submitted", "Scheduled"]);
    const both = world.agent({ name: "both", labels: ["big", "gpu", "extra"] });
    await pass(world, both);
    expect((await world.state(gpuBig))).toBe("Submitted");
    for (const a of [unlabeled, onlyGpu, both]) await a.stop(10_000);
  });

  test("--concurrency: never more children than slots; a child that ends frees its slot", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const flowId = await world.flowId();
    const runs: string[] = [];
    for (let i = 0; i < 5; i++) runs.push(await world.run(flowId));
    const agent = world.agent({ concurrency: 2 });
    expect(await pass(world, agent)).toBe(2);
    expect(await pass(world, agent)).toBe(0); // full: polls, takes nothing
    expect((await Promise.all(runs.map((id) => world.state(id)))).filter((s) => s === "Submitted")).toHaveLength(2);
    const first = agent.running[0]!;
    world.release(first);
    await until(() => !agent.running.includes(first), "the released child to end");
    expect(await pass(world, agent)).toBe(1);
    expect((await Promise.all(runs.map((id) => world.state(id)))).filter((s) => s === "Submitted")).toHaveLength(3);
    for (const id of runs) world.release(id);
    await agent.stop(10_000);
  });

  test("woken, it takes a new run at once, whatever its poll interval", async () => {
    world = await agentWorld();
    const agent = world.agent({ pollMs: () => 3_600_000 });
    const controller = new AbortController();
    const loop = agent.run(controller.signal);
    await until(() => agent.id !== undefined, "registration");
    const runId = await world.run(await world.flowId());
    agent.wake();
    await until(() => world.record(runId) !== undefined, "the woken agent to start the run");
    controller.abort();
    await loop;
    await agent.stop(10_000);
  });

  test("a slot that frees takes the run that waited for it at once; after a claim that took fewer than it asked for, it does not look again", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const flowId = await world.flowId();
    const first = await world.run(flowId);
    const second = await world.run(flowId);
    const agent = world.agent({ concurrency: 1, pollMs: () => 3_600_000 });
    let claims = 0;
    const claimRuns = agent["options"].backend.claimRuns.bind(agent["options"].backend);
    agent["options"].backend.claimRuns = (...args) => (claims++, claimRuns(...args));
    const controller = new AbortController();
    const loop = agent.run(controller.signal);
    await until(() => world.record(first) !== undefined, "the first run to start");
    world.release(first);
    // The only slot frees: the second run is taken then, not at the hour's poll.
    await until(() => world.record(second) !== undefined, "the second run to start when the slot freed");
    expect(claims).toBe(2);
    world.release(second);
    await until(() => agent.running.length === 0, "the second run's child to end");
    await until(() => claims === 3, "one more look: that claim took 1 of 1"); // it finds nothing
    controller.abort();
    await loop;
    await agent.stop(10_000);

    // With a slot to spare, a claim that took 1 of 2 saw every waiting run: the end of that run looks for none.
    const third = await world.run(flowId);
    const roomy = world.agent({ concurrency: 2, pollMs: () => 3_600_000 });
    let roomyClaims = 0;
    const roomyClaim = roomy["options"].backend.claimRuns.bind(roomy["options"].backend);
    roomy["options"].backend.claimRuns = (...args) => (roomyClaims++, roomyClaim(...args));
    const roomyController = new AbortController();
    const roomyLoop = roomy.run(roomyController.signal);
    await until(() => world.record(third) !== undefined, "the third run to start");
    world.release(third);
    await until(() => roomy.running.length === 0, "the third run's child to end");
    await Bun.sleep(200);
    expect(roomyClaims).toBe(1);
    roomyController.abort();
    await roomyLoop;
    await roomy.stop(10_000);
  });

  test("a child killed by a signal is reported in the run's logs; the run is left for the safeguards", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const lines: string[] = [];
    const agent = world.agent({ name: "reporter", log: (l) => lines.push(l) });
    await pass(world, agent);
    process.kill(world.record(runId)!.pid, "SIGKILL");
    await until(() => agent.running.length === 0, "the agent to see its child die");
    await until(
      async () => ((await world.sql<{ n: number }>("SELECT COUNT(*) AS n FROM log WHERE level = 'WARNING'"))[0]!).n > 0,
      "the warning",
    );
    const warning = (await world.sql<Record<string, string>>("SELECT name, message FROM log WHERE level = 'WARNING'"))[0]!;
    expect(warning.name).toBe("reporter");
    expect(warning.message).toContain("was killed by SIGKILL");
    expect((await world.state(runId))).toBe("Submitted");
    expect(lines.some((l) => l.includes("SIGKILL"))).toBe(true);
  });

  test("stopping waits for children that finish in time and interrupts the others", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const flowId = await world.flowId();
    const quick = await world.run(flowId);
    const slow = await world.run(flowId);
    const agent = world.agent();
    await pass(world, agent);
    world.release(quick);
    await until(() => !agent.running.includes(quick), "the quick child to end");
    const result = await agent.stop(50);
    expect(result).toEqual({ finished: 0, interrupted: [slow] });
    expect(agent.running).toEqual([]);
    expect(await agent.runOnce()).toBe(0); // a stopped agent takes nothing
  });

  test("a stopped agent waits for a child that finishes within the grace period", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const agent = world.agent();
    await pass(world, agent);
    const stopping = agent.stop(60_000);
    world.release(runId);
    expect(await stopping).toEqual({ finished: 1, interrupted: [] });
  });

  test("claims take runs waiting to start, never a Running run whose process sleeps through a retry", async () => {
    world = await agentWorld();
    const runId = await world.run(await world.flowId());
    const s = world.backend.services;
    await s.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    const task = ((await world.sql<{ id: string }>("SELECT id FROM task_run WHERE flow_run_id = $id", { id: runId }))[0]!).id;
    await s.setTaskRunStates([{ taskRunId: task, version: 1, state: { type: "Running" } }]);
    await s.setTaskRunStates([{ taskRunId: task, version: 2, state: { type: "Retrying", startTime: new Date(Date.now() - 1000).toISOString() } }]);
    expect(await s.getRunsInQueue({})).toEqual([runId]); // Prefect's queue still lists it
    expect(await world.agent().runOnce()).toBe(0);
    expect((await world.state(runId))).toBe("Running");
  });
});
