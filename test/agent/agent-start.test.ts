/**
 * `prefectlite agent start` as a real process polling a real server over HTTP (serve --no-agent):
 * it registers, takes the run its labels cover (recorded as its agent through X-Prefect-Agent-Id),
 * executes it to the end, and stops cleanly on SIGTERM.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { runCli, tempDir } from "../helpers.ts";
import { startCli, until, type CliProcess } from "../e2e/process-helpers.ts";

let processes: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  processes = [];
});

describe("agent start", () => {
  test("polls a server, takes the run its labels cover, executes it, and stops on SIGTERM", async () => {
    const home = tempDir("prefectlite-agent-start-");
    expect((await runCli(["create", "project", "a"], { home })).exitCode).toBe(0);
    expect((await runCli(["register", "-m", "prefectlite.hello_world", "--project", "a"], { home })).exitCode).toBe(0);
    const serve = startCli(["serve", "--port", "0", "--no-agent"], { PREFECTLITE_HOME: home });
    processes.push(serve);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    const agentHome = tempDir("prefectlite-agent-elsewhere-"); // the agent never touches a database of its own
    const agent = startCli(["agent", "start", "--label", "blue", "--name", "painter", "--api", url!], {
      PREFECTLITE_HOME: agentHome,
      PREFECTLITE_AGENT_POLL_SECONDS: "0.2",
    });
    processes.push(agent);
    await agent.waitFor(/Agent 'painter' started: labels \["blue"\], concurrency 10, polling http/);

    const client = new BackendClient(new HttpBackend(url!));
    try {
      const flow = await client.latestFlow("hello-world", "a");
      const blue = await client.createFlowRun({ flowId: flow!.id, labels: ["blue"] });
      const red = await client.createFlowRun({ flowId: flow!.id, labels: ["red"] });
      const read = async (id: string) =>
        (await client.graphql<{ flow_run_by_pk: { state: string; agent: { name: string } | null } }>(
          `query ($id: uuid!) { flow_run_by_pk(id: $id) { state agent { name } } }`,
          { id },
        )).flow_run_by_pk;
      let blueRun = await read(blue);
      const deadline = Date.now() + 30_000;
      while (blueRun.state !== "Success" && Date.now() < deadline) {
        await Bun.sleep(50);
        blueRun = await read(blue);
      }
      expect(blueRun).toEqual({ state: "Success", agent: { name: "painter" } });
      expect(await read(red)).toEqual({ state: "Scheduled", agent: null });
      agent.proc.kill("SIGTERM");
      expect(await agent.proc.exited).toBe(0);
      await until(() => agent.output().includes("SIGTERM: taking no more runs"), "the agent's goodbye");
    } finally {
      await client.close();
    }
  }, 60_000);
});
