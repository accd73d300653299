import { afterEach, describe, expect, test } from "bun:test";
import { agentWorld, until, type AgentWorld } from "./helpers.ts";

let world: AgentWorld;
afterEach(() => world?.close());

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Agent passes, one after another, until `check` holds. */
async function passUntil(agent: ReturnType<AgentWorld["agent"]>, check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await agent.runOnce();
    await Bun.sleep(20);
  }
}

const logs = (runId: string) =>
  world.sql<Record<string, string>>("SELECT name, level, message FROM log WHERE flow_run_id = $id ORDER BY timestamp", { id: runId });

describe("an agent's supervision of its children", () => {
  test("a child that leaves its run Submitted past the start timeout (hung at import) is killed, and the run ends Failed saying why", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const lines: string[] = [];
    const agent = world.agent({ name: "watchful", startTimeoutMs: () => 300, log: (l) => lines.push(l) });
    await agent.runOnce();
    await until(() => world.record(runId) !== undefined, "the child to start");
    const pid = world.record(runId)!.pid;
    await passUntil(agent, async () => (await world.state(runId)) === "Failed", "the run to be failed");
    await until(() => !isAlive(pid) && agent.running.length === 0, "the child to be gone");
    const error = (await logs(runId)).find((l) => l.level === "ERROR")!;
    expect(error.name).toBe("watchful");
    expect(error.message).toBe(
      `The flow run process (PID ${pid}) did not start the run within 0.3 s (PREFECTLITE_AGENT_START_TIMEOUT_SECONDS): killed it; does the flow file hang at import?`,
    );
    const state = (await world.sql<{ serialized_state: string }>("SELECT serialized_state FROM flow_run WHERE id = $id", { id: runId }))[0]!;
    expect(JSON.parse(state.serialized_state).message).toBe(error.message);
    expect(lines.filter((l) => l.includes(`PID ${pid}`) && l.includes("killed")).length).toBe(1);
    // The agent said why it killed it; no second line calling it a crash for the safeguards.
    expect(lines.some((l) => l.includes("zombie killer and Lazarus recover it"))).toBe(false);
  });

  test("a child whose run was failed elsewhere is killed after the grace period", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const agent = world.agent({ endedRunGraceMs: 200 });
    await agent.runOnce();
    await until(() => world.record(runId) !== undefined, "the child to start");
    const pid = world.record(runId)!.pid;
    const version = ((await world.sql<{ version: number }>("SELECT version FROM flow_run WHERE id = $id", { id: runId }))[0]!).version;
    await world.backend.services.setFlowRunStates([{ flowRunId: runId, version, state: { type: "Failed", message: "failed from outside" } }]);
    await passUntil(agent, () => !isAlive(pid), "the child to be killed");
    await until(() => agent.running.length === 0, "the agent to see it end");
    expect((await world.state(runId))).toBe("Failed");
    expect((await logs(runId)).find((l) => l.level === "WARNING")?.message).toBe(
      `The flow run is Failed, but its process (PID ${pid}) was still alive 0.2 s later: killed it`,
    );
  });

  test("when Lazarus reschedules a silent run and finally fails it, each of its hung children is killed", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const agent = world.agent({ endedRunGraceMs: 200 });
    const pids: number[] = [];
    /** A Lazarus pass for which every run quiet for 1 ms is silent. */
    const lazarus = async () => {
      await Bun.sleep(20);
      return await world.backend.services.resurrectRuns({ staleAfterMs: 1 });
    };
    const claimAndRecord = async () => {
      await passUntil(agent, async () => (await world.state(runId)) === "Submitted" && world.record(runId) !== undefined && !pids.includes(world.record(runId)!.pid), "a child for the run");
      pids.push(world.record(runId)!.pid);
    };
    await claimAndRecord();
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await lazarus()).rescheduled).toBe(1);
      await claimAndRecord(); // taking the run again kills the child that held it
      await until(() => !isAlive(pids.at(-2)!), "the previous child to be gone");
    }
    expect((await lazarus()).failed).toBe(1);
    await passUntil(agent, () => !isAlive(pids.at(-1)!), "the last child to be killed");
    expect((await world.state(runId))).toBe("Failed");
    expect(pids.filter(isAlive)).toEqual([]);
  });

  test("a child whose run is Cancelling and that still runs after the cancel grace is killed, and the run ends Cancelled saying why", async () => {
    world = await agentWorld({ AGENT_TEST_HOLD: "1" });
    const runId = await world.run(await world.flowId());
    const agent = world.agent({ name: "canceller", cancelGraceMs: () => 200 });
    await agent.runOnce();
    await until(() => world.record(runId) !== undefined, "the child to start");
    const pid = world.record(runId)!.pid;
    const version = ((await world.sql<{ version: number }>("SELECT version FROM flow_run WHERE id = $id", { id: runId }))[0]!).version;
    await world.backend.services.setFlowRunStates([{ flowRunId: runId, version, state: { type: "Running", message: "as its runner would" } }]);
    expect((await world.backend.services.cancelFlowRun(runId)).state).toBe("Cancelling");
    await passUntil(agent, async () => (await world.state(runId)) === "Cancelled", "the run to end Cancelled");
    await until(() => !isAlive(pid) && agent.running.length === 0, "the child to be gone");
    const message = `The flow run was cancelled, but its process (PID ${pid}) was still running 0.2 s later (PREFECTLITE_CANCEL_GRACE_SECONDS): killed it`;
    expect((await logs(runId)).at(-1)).toEqual({ name: "canceller", level: "WARNING", message });
  });
});
