import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers.ts";
import { until } from "../backed/helpers.ts";
import { registeredFlow, runs } from "./execute-helpers.ts";

const LONG = `
import { Flow, task } from "prefectlite";
const quick = task({ name: "quick" }, () => 1);
const long = task({ name: "long" }, async (x: number) => { await Bun.sleep(60_000); return x; });
const after = task({ name: "after" }, (x: number) => x);
export const flow = new Flow("long", () => after(long(quick())));
`;

describe("prefectlite cancel", () => {
  test("stops a run executing in a child and says what happened: the child exits, the task under way ends Cancelled after the grace, the rest never start", async () => {
    const fx = await registeredFlow(LONG);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
    Object.assign(env, { PREFECTLITE_HOME: fx.home, PREFECTLITE_HEARTBEAT_SECONDS: "1", PREFECTLITE_CANCEL_GRACE_SECONDS: "1", NO_COLOR: "1" });
    const executing = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "run", "--name", "long", "--execute"], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const client = fx.client();
    try {
      let id = "";
      await until(async () => {
        const [run] = await runs(client);
        id = run?.id ?? "";
        return run?.task_runs.find((t) => t.task_slug === "long-1")?.state === "Running";
      }, "the long task to start");

      // A generous wait (the grace is 1 s): the answer is the run's end, whatever the machine's load.
      const cancelled = await fx.cli(["cancel", id, "--wait", "60"], { PREFECTLITE_CANCEL_GRACE_SECONDS: "1" });
      expect(cancelled.stdout).toBe(`Flow run ${id} cancelled: 1 task run completed, 2 cancelled\n`);
      expect(cancelled.exitCode).toBe(0);

      const [stdout, exitCode] = await Promise.all([new Response(executing.stdout).text(), executing.exited]);
      expect(stdout).toEndWith("Flow run was cancelled.\n");
      expect(exitCode).toBe(1);
      const [run] = await runs(client);
      expect(run!.state).toBe("Cancelled");
      expect(Object.fromEntries(run!.task_runs.map((t) => [t.task_slug, t.state]))).toEqual({
        "quick-1": "Success",
        "long-1": "Cancelled",
        "after-1": "Cancelled",
      });

      const logs = run!.logs.map((l) => l.message);
      expect(logs).toContain("Flow run is cancelling: no new task run starts; task runs under way get 1 s to finish");
      expect(logs.filter((m) => m.startsWith("Task 'after': Starting"))).toEqual([]);

      const again = await fx.cli(["cancel", id, "--json"]);
      expect(JSON.parse(again.stdout)).toEqual({ id, state: "Cancelled", task_runs: { completed: 1, failed: 0, cancelled: 2, unfinished: 0 } });
    } finally {
      executing.kill();
      await client.close();
    }
  }, 30_000);

  test("a run that has not started is Cancelled at once; a finished one is left as it is", async () => {
    const fx = await registeredFlow(LONG.replace("await Bun.sleep(60_000); ", ""));
    const created = await fx.cli(["run", "--name", "long", "--json"]);
    const { id } = JSON.parse(created.stdout.split("\n").find((l) => l.startsWith("{"))!);
    const first = await fx.cli(["cancel", id]);
    expect(first.stdout).toBe(`Flow run ${id} cancelled: 0 task runs completed, 3 cancelled\n`);

    await fx.cli(["run", "--name", "long", "--execute"]);
    const client = fx.client();
    const done = (await runs(client)).find((r) => r.state === "Success")!;
    await client.close();
    const late = await fx.cli(["cancel", done.id]);
    expect(late.stdout).toBe(`Flow run ${done.id} had already finished: Success\n`);
    expect(late.exitCode).toBe(0);
  }, 30_000);

  test("a run whose process has not stopped within the wait: it is Cancelling, and when it will be stopped is said", async () => {
    const fx = await registeredFlow(LONG);
    const client = fx.client();
    try {
      const id = await client.createFlowRun({ flowId: (await client.graphql<{ flow: Array<{ id: string }> }>("{ flow(limit: 1) { id } }")).flow[0]!.id });
      // As a runner would: the run Running, its first task run under way.
      await client.graphql(`mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id } } }`, {
        input: { states: [{ flow_run_id: id, version: 1, state: { type: "Running" } }] },
      });
      const quiet = await fx.cli(["cancel", id, "--wait", "0"], { PREFECTLITE_CANCEL_GRACE_SECONDS: "30" });
      expect(quiet.stdout).toMatch(new RegExp(`^Flow run ${id} is Cancelling: 3 task runs not finished, the run's process has not stopped yet \\(it will be stopped after 3[23] s\\)\n$`));
      expect(quiet.exitCode).toBe(0);
    } finally {
      await client.close();
    }
  });

  test("--wait must be a number of seconds", async () => {
    const fx = await registeredFlow(LONG);
    const { stderr, exitCode } = await fx.cli(["cancel", "6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d", "--wait", "soon"]);
    expect(stderr).toBe("Error: --wait expects a number of seconds, 0 or more (got 'soon')\n");
    expect(exitCode).toBe(2);
  });

  test("an unknown run: one line, exit 2", async () => {
    const fx = await registeredFlow(LONG);
    const { stdout, stderr, exitCode } = await fx.cli(["cancel", "6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d"]);
    expect(stdout).toBe("");
    expect(stderr).toBe("Error: Flow run 6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d not found\n");
    expect(exitCode).toBe(2);
  });
});
