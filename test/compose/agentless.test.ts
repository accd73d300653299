import { describe, expect, test } from "bun:test";
import { executeFlowRunCommand } from "../../src/run-process/command.ts";
import { liveAgentCovers } from "../../src/sdk/agentless.ts";

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

describe("the command of a flow run's process", () => {
  test("is prefectlite's own entry run by this Bun, never argv[0], ignoring a bunfig.toml and .env in the current folder", () => {
    const command = executeFlowRunCommand("abc");
    expect(command[0]).toBe(process.execPath);
    expect(command[1]).toMatch(/^--config=.*\/bin\/bunfig\.toml$/);
    expect(command[2]).toBe("--no-env-file");
    expect(command[3]).toEndWith("src/main.ts");
    expect(command.slice(4)).toEqual(["execute", "flow-run", "abc"]);
  });

  test("carries the debugger flags when asked (agentless sub-flows included)", () => {
    const before = process.env.PREFECTLITE_EXECUTE_INSPECT;
    process.env.PREFECTLITE_EXECUTE_INSPECT = "1";
    try {
      expect(executeFlowRunCommand("abc")).toContain("--inspect-wait");
    } finally {
      if (before === undefined) delete process.env.PREFECTLITE_EXECUTE_INSPECT;
      else process.env.PREFECTLITE_EXECUTE_INSPECT = before;
    }
  });
});

describe("taking a run for agentless execution", () => {
  test("is one versioned Scheduled → Submitted write: of two takers racing, exactly one wins", async () => {
    const { join } = await import("node:path");
    const { BackendClient } = await import("../../src/client/client.ts");
    const { registerFlow } = await import("../../src/client/register.ts");
    const { openBackend } = await import("../../src/runtime/backend.ts");
    const { embeddedBackend } = await import("../../src/runtime/embedded-backend.ts");
    const { claimForAgentlessExecution } = await import("../../src/sdk/agentless.ts");
    const { flow } = await import("../../src/hello-world.ts");
    const { tempDir } = await import("../helpers.ts");
    const backend = await openBackend(join(tempDir(), "prefectlite.db"));
    const client = new BackendClient(embeddedBackend(backend));
    try {
      await client.createProject("p");
      const { id: flowId } = await registerFlow(client, flow, "p");
      const runId = await client.createFlowRun({ flowId });
      const wins = await Promise.all([claimForAgentlessExecution(client, { id: runId }), claimForAgentlessExecution(client, { id: runId })]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const again = await claimForAgentlessExecution(client, { id: runId });
      expect(again).toBe(false);
      const data = await client.graphql<{ flow_run_by_pk: { state: string } }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`, { id: runId });
      expect(data.flow_run_by_pk.state).toBe("Submitted");
    } finally {
      await backend.close();
    }
  });
});
