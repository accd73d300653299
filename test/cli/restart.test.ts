import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { registeredFlow, runs } from "./execute-helpers.ts";

/**
 * `first` counts its executions in a file; `flaky` fails until a marker file exists (it makes
 * it on its first try), so a restart succeeds. A mapped task has one child failing the same way.
 */
function flakyFlow(dir: string): string {
  const counts = JSON.stringify(join(dir, "counts"));
  const marker = JSON.stringify(join(dir, "marker"));
  return `
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { Flow, task } from "prefectlite";
const count = (what: string) => appendFileSync(${counts}, what + "\\n");
const first = task({ name: "first" }, () => { count("first"); return 20; });
const flaky = task({ name: "flaky" }, (x: number) => {
  count("flaky");
  if (!existsSync(${marker})) { writeFileSync(${marker}, "x"); throw new Error("not this time"); }
  return x + 1;
});
const inc = task({ name: "inc" }, (x: number) => { count("inc-" + x); if (x === 2 && !existsSync(${marker} + "-map")) { writeFileSync(${marker} + "-map", "x"); throw new Error("no"); } return x + 1; });
const last = task({ name: "last" }, (x: number, xs: number[]) => { count("last"); return x + xs.length; });
export const flow = new Flow("flaky", () => {
  last(flaky(first()), inc.map([1, 2, 3]));
});
`;
}

const countsOf = (dir: string) => readFileSync(join(dir, "counts"), "utf8").trim().split("\n").sort();

describe("prefectlite restart", () => {
  test("--execute runs a failed run again from its failures: it ends Success and what succeeded is not run again", async () => {
    const dir = tempDir("prefectlite-restart-");
    const fx = await registeredFlow(flakyFlow(dir));
    const failed = await fx.cli(["run", "--name", "flaky", "--execute"]);
    expect(failed.stdout).toEndWith("Flow run failed!\n");
    expect(failed.exitCode).toBe(1);
    const client = fx.client();
    try {
      const [run] = await runs(client);
      const id = run!.id;
      expect(countsOf(dir)).toEqual(["first", "flaky", "inc-1", "inc-2", "inc-3"].sort());

      const restarted = await fx.cli(["restart", id, "--execute"]);
      expect(restarted.stdout).toStartWith(
        `Flow run ${id} restarted: 4 task runs go again, 3 keep their states; it is Scheduled\nExecuting flow run...\n`,
      );
      expect(restarted.stdout).toEndWith("Flow run succeeded!\n");
      expect(restarted.exitCode).toBe(0);
      // first, inc[0] and inc[2] ran once; flaky, inc[1] and last ran again (last had not run before)
      expect(countsOf(dir)).toEqual(["first", "flaky", "flaky", "inc-1", "inc-2", "inc-2", "inc-3", "last"].sort());

      const [after] = await runs(client);
      expect(after!.state).toBe("Success");
      expect(after!.labels).toEqual([expect.stringMatching(/^agentless-run-[0-9a-f]{8}$/)]);
      expect(after!.labels).not.toEqual(run!.labels);
      const history = await client.graphql<{ flow_run_by_pk: { states: Array<{ state: string; message: string }> } }>(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { states(order_by: { version: asc }) { state message } } }`,
        { id },
      );
      const states = history.flow_run_by_pk.states;
      expect(states.map((s) => s.state).join(" ")).toMatch(/^Scheduled Submitted Running Failed Scheduled Submitted Running Success$/);
      expect(states.find((s) => s.message.startsWith("Flow run restarted"))!.message).toMatch(
        /^Flow run restarted by (\S+ with )?prefectlite restart: 4 task runs go again, 3 keep their states$/,
      );
    } finally {
      await client.close();
    }
  }, 60_000);

  test("without --execute the run is left Scheduled for an agent (its agentless label dropped), with a warning when none covers it", async () => {
    const dir = tempDir("prefectlite-restart-");
    const fx = await registeredFlow(flakyFlow(dir));
    await fx.cli(["run", "--name", "flaky", "--execute"]);
    const client = fx.client();
    try {
      const [run] = await runs(client);
      const restarted = await fx.cli(["restart", run!.id, "--json"]);
      expect(restarted.exitCode).toBe(0);
      expect(JSON.parse(restarted.stdout)).toMatchObject({ id: run!.id, state: "Scheduled", labels: [], restarted_task_runs: 4, kept_task_runs: 3 });
      expect(restarted.stderr).toContain("Warning: no agent is registered");
      const [after] = await runs(client);
      expect(after!.state).toBe("Scheduled");
    } finally {
      await client.close();
    }
  }, 60_000);

  test("a run that succeeded, an unknown id, a malformed one: one line on stderr, exit 2, nothing changes", async () => {
    const dir = tempDir("prefectlite-restart-");
    const fx = await registeredFlow(flakyFlow(dir));
    await fx.cli(["run", "--name", "flaky", "--execute"]);
    const client = fx.client();
    try {
      const [run] = await runs(client);
      expect((await fx.cli(["restart", run!.id, "--execute"])).exitCode).toBe(0);
      const again = await fx.cli(["restart", run!.id]);
      expect(again.stdout).toBe("");
      expect(again.stderr).toBe(
        `Error: Flow run ${run!.id} was not restarted: it ended Success: only a run that failed or was cancelled can be restarted\n`,
      );
      expect(again.exitCode).toBe(2);
      expect((await runs(client))[0]!.state).toBe("Success");

      const unknown = await fx.cli(["restart", "6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d"]);
      expect(unknown.stderr).toBe("Error: Flow run 6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d not found\n");
      expect(unknown.exitCode).toBe(2);
      const malformed = await fx.cli(["restart", "not-a-uuid"]);
      expect(malformed.stderr).toMatch(/^Error: flow_run_id [^\n]*\n$/);
      expect(malformed.exitCode).toBe(2);
    } finally {
      await client.close();
    }
  }, 60_000);
});
