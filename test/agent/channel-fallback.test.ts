/**
 * The run channel when the agent goes away: a remote agent (`agent start --api`) is killed while
 * its child executes a run; the child goes on with the server its environment names, sends there
 * what the agent had not answered, beats for itself, and the run ends Success with every task run
 * finished once. Real processes, real server; no timing asserted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { runCli, tempDir } from "../helpers.ts";
import { startCli, type CliProcess } from "../e2e/process-helpers.ts";

let processes: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  processes = [];
});

describe("a run whose agent goes away", () => {
  test("is finished by its process through the server, each task once", async () => {
    const home = tempDir("prefectlite-channel-");
    const out = tempDir("prefectlite-channel-out-");
    const path = join(tempDir("prefectlite-channel-flows-"), "flow.ts");
    writeFileSync(
      path,
      `import { appendFileSync, existsSync } from "node:fs";
       import { Flow, task } from "prefectlite";
       const mark = (name: string) => appendFileSync(${JSON.stringify(join(out, "ran.txt"))}, name + "\\n");
       const first = task({ name: "first" }, () => { mark("first"); return 1; });
       const waits = task({ name: "waits" }, async (x: number) => {
         mark("waits");
         while (!existsSync(${JSON.stringify(join(out, "go"))})) await Bun.sleep(20);
         return x + 1;
       });
       const last = task({ name: "last" }, (x: number) => { mark("last"); return x + 1; });
       export const flow = new Flow("outlives-agent", () => { last(waits(first())); });`,
    );
    expect((await runCli(["create", "project", "a"], { home })).exitCode).toBe(0);
    expect((await runCli(["register", "-p", path, "--project", "a"], { home })).exitCode).toBe(0);
    const serve = startCli(["serve", "--port", "0", "--no-agent"], { PREFECTLITE_HOME: home });
    processes.push(serve);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    const agent = startCli(["agent", "start", "--api", url!], { PREFECTLITE_HOME: tempDir("prefectlite-channel-agent-"), PREFECTLITE_HEARTBEAT_SECONDS: "1" });
    processes.push(agent);
    await agent.waitFor(/started: labels/);
    const client = new BackendClient(new HttpBackend(url!));
    try {
      const id = await client.createFlowRun({ flowId: (await client.latestFlow("outlives-agent", "a"))!.id });
      const read = async () =>
        (await client.graphql<{ flow_run_by_pk: { state: string; task_runs: Array<{ task_slug: string; state: string }> } }>(
          `query ($id: uuid!) { flow_run_by_pk(id: $id) { state task_runs(order_by: { task_slug: asc }) { task_slug state } } }`,
          { id },
        )).flow_run_by_pk;
      const until = async (check: (run: Awaited<ReturnType<typeof read>>) => boolean, what: string) => {
        const deadline = Date.now() + 30_000;
        for (let run = await read(); !check(run); run = await read()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(run)}`);
          await Bun.sleep(50);
        }
      };
      await until((run) => run.task_runs.some((t) => t.task_slug === "waits-1" && t.state === "Running"), "the waiting task to run");
      agent.proc.kill("SIGKILL"); // the agent only: its children have process groups of their own
      await agent.proc.exited;
      writeFileSync(join(out, "go"), "");
      await until((run) => run.state === "Success", "the run to finish without its agent");
      const run = await read();
      expect(run.task_runs.map((t) => [t.task_slug, t.state])).toEqual([
        ["first-1", "Success"],
        ["last-1", "Success"],
        ["waits-1", "Success"],
      ]);
      expect(await Bun.file(join(out, "ran.txt")).text()).toBe("first\nwaits\nlast\n");
    } finally {
      await client.close();
    }
  }, 60_000);
});
