/**
 * `run --execute`'s child process, as its rules in src/run-process/ make it: started without
 * obeying the current folder's bunfig.toml or .env, ended with its unfinished task runs when it
 * dies, and killed after the cancel grace period when its run is cancelled and it does not stop.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runCli, tempDir } from "../helpers.ts";
import { registeredFlow, runs } from "./execute-helpers.ts";

const KILLED = `
import { Flow, task } from "prefectlite";
const fine = task({ name: "fine" }, () => 1);
const die = task({ name: "die" }, (x: number) => { process.kill(process.pid, "SIGKILL"); return x; });
const after = task({ name: "after" }, (x: number) => x);
export const flow = new Flow("killed", () => after(die(fine())));
`;

const ENV_PROBE = `
import { Flow, task, context } from "prefectlite";
const probe = task({ name: "probe" }, () => context().logger.info("HOSTILE=" + String(process.env.HOSTILE)));
export const flow = new Flow("probe", () => probe());
`;

const STUCK = `
import { Flow, task, context } from "prefectlite";
const spin = task({ name: "spin" }, () => {
  context().logger.info("spinning");
  const until = Date.now() + 120_000;
  while (Date.now() < until) {} // a synchronous stretch: the runner cannot look for the cancel
});
const next = task({ name: "next" }, () => 1);
export const flow = new Flow("stuck", () => next({ upstream: [spin()] }));
`;

describe("run --execute's child process", () => {
  test("a child killed mid-task: the run ends Failed and no task run is left Pending or Running, each saying why", async () => {
    const fx = await registeredFlow(KILLED);
    const { exitCode, stdout } = await fx.cli(["run", "--name", "killed", "--execute"]);
    expect(stdout).toEndWith("Flow run failed!\n");
    expect(exitCode).toBe(1);
    const client = fx.client();
    const [run] = await runs(client);
    const detail = await client.graphql<{ task_run: Array<{ task_slug: string; state: string; serialized_state: { message: string } }> }>(
      `query { task_run(order_by: { task_slug: asc }) { task_slug state serialized_state } }`,
    );
    await client.close();
    expect(run!.state).toBe("Failed");
    expect(detail.task_run.map((t) => [t.task_slug, t.state])).toEqual([
      ["after-1", "Failed"],
      ["die-1", "Failed"],
      ["fine-1", "Success"],
    ]);
    expect(detail.task_run[1]!.serialized_state.message).toBe(
      "The flow run ended Failed before this task run finished: The flow run process was killed by SIGKILL before the run finished.",
    );
  }, 30_000);

  test("ignores a bunfig.toml (its preload) and a .env in the current folder, as the launcher and the binary do", async () => {
    const fx = await registeredFlow(ENV_PROBE);
    const hostile = tempDir("prefectlite-hostile-");
    const marker = join(hostile, "preload-ran");
    writeFileSync(join(hostile, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
    writeFileSync(join(hostile, "bunfig.toml"), `preload = ["./evil.ts"]\n`);
    writeFileSync(join(hostile, ".env"), "HOSTILE=from-dotenv\n");
    // The CLI itself started as the npm launcher starts it; its child is what is under test.
    const launcher = [process.execPath, `--config=${join(REPO_ROOT, "bin/bunfig.toml")}`, "--no-env-file", join(REPO_ROOT, "src/main.ts")];
    const { exitCode, stdout, stderr } = await runCli(["run", "--name", "probe", "--execute"], { home: fx.home, cwd: hostile, command: launcher });
    expect(stderr).toBe("");
    expect(stdout).toContain("| INFO    | HOSTILE=undefined\n");
    expect(exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);

  test("a cancelled run whose child is stuck in a task: killed after the cancel grace, the run and its task runs Cancelled", async () => {
    const fx = await registeredFlow(STUCK);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
    const cli = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "run", "--name", "stuck", "--execute"], {
      cwd: REPO_ROOT,
      env: { ...env, NO_COLOR: "1", PREFECTLITE_HOME: fx.home, PREFECTLITE_CANCEL_GRACE_SECONDS: "1", PREFECTLITE_AGENT_POLL_SECONDS: "0.2" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = new Response(cli.stdout).text();
    const client = fx.client();
    try {
      const deadline = Date.now() + 30_000;
      let runId: string | undefined;
      while (!runId) {
        if (Date.now() > deadline) {
          cli.kill("SIGKILL");
          throw new Error(`the task never started: ${JSON.stringify((await runs(client))[0])}\n${await stdout}${await new Response(cli.stderr).text()}`);
        }
        const [run] = await runs(client);
        if (run?.task_runs.some((t) => t.task_slug === "spin-1" && t.state === "Running")) runId = run.id;
        else await Bun.sleep(50);
      }
      const cancelled = await client.graphql<{ cancel_flow_run: { state: string } }>(
        `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`,
        { input: { flow_run_id: runId } },
      );
      expect(cancelled.cancel_flow_run.state).toBe("Cancelling");
      expect(await cli.exited).toBe(1);
      const out = await stdout;
      expect(out).toMatch(/\| ERROR {3}\| The flow run was cancelled, but its process \(PID \d+\) was still running 3 s later \(PREFECTLITE_CANCEL_GRACE_SECONDS\): killed it\n/);
      expect(out).toEndWith("Flow run was cancelled.\n");
      const [run] = await runs(client);
      expect(run!.state).toBe("Cancelled");
      expect(run!.task_runs.map((t) => [t.task_slug, t.state])).toEqual([
        ["next-1", "Cancelled"],
        ["spin-1", "Cancelled"],
      ]);
    } finally {
      cli.kill("SIGKILL");
      await client.close();
    }
  }, 60_000);
});
