/**
 * Restart end to end, on the compiled executable: `serve` (with its agent) runs a flow whose
 * middle task fails the first time; `prefectlite restart` sends it again; serve's agent runs it
 * to Success without executing the task that had succeeded (its side effects are counted).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "../../scripts/build.ts";
import { runCli, tempDir } from "../helpers.ts";
import { cliEnv, until } from "./process-helpers.ts";

let binary = "";
let home = "";
let serve: ReturnType<typeof Bun.spawn> | undefined;
let output = "";
let url = "";

function flakyFlow(dir: string): string {
  const counts = JSON.stringify(join(dir, "counts"));
  const marker = JSON.stringify(join(dir, "marker"));
  return `import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { Flow, task } from "prefectlite";
const count = (what: string) => appendFileSync(${counts}, what + "\\n");
const upstream = task({ name: "upstream" }, () => { count("upstream"); return 41; });
const flaky = task({ name: "flaky" }, (x: number) => {
  count("flaky");
  if (!existsSync(${marker})) { writeFileSync(${marker}, "x"); throw new Error("fails the first time"); }
  return x + 1;
});
const report = task({ name: "report" }, (x: number) => count("report " + x));
export const flow = new Flow("flaky", () => { report(flaky(upstream())); });
`;
}

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  home = tempDir("prefectlite-restart-e2e-");
  const flows = join(home, "flows");
  mkdirSync(flows);
  writeFileSync(join(flows, "flaky.ts"), flakyFlow(home));
  serve = Bun.spawn([binary, "serve", "--port", "0", "--watch", flows, "--project", "default"], {
    cwd: home,
    env: cliEnv({ PREFECTLITE_HOME: home, PREFECTLITE_AGENT_POLL_SECONDS: "0.2", PREFECTLITE_LOOP_SECONDS: "0.2" }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const decoder = new TextDecoder();
  for (const stream of [serve.stdout, serve.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      const reader = stream.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value, { stream: true });
    })();
  }
  await until(() => /Registered 'flaky'/.test(output) && /listening on http/.test(output), `serve to start (printed:\n${output})`, 40_000);
  url = /listening on (http:\/\/\S+)/.exec(output)![1]!;
}, 90_000);

afterAll(async () => {
  serve?.kill("SIGTERM");
  await serve?.exited;
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const RUN = `query ($id: uuid!) { flow_run_by_pk(id: $id) { state
  states(order_by: { version: asc }) { state message }
  task_runs(order_by: { task_slug: asc }) { task_slug state } } }`;
type Run = { state: string; states: Array<{ state: string; message: string }>; task_runs: Array<{ task_slug: string; state: string }> };

describe("restart, end to end", () => {
  test("a failed run restarted with the CLI is taken by serve's agent and ends Success; the upstream task is not executed again", async () => {
    const cli = (args: string[]) => runCli([...args, "--api", url], { command: [binary], cwd: home, home });
    const failed = await cli(["run", "--name", "flaky", "--watch"]);
    expect(failed.stdout).toContain("Flow run failed!");
    expect(failed.exitCode).toBe(1);
    const id = /└── UUID: (\S+)/.exec(failed.stdout)![1]!;
    const counts = () => readFileSync(join(home, "counts"), "utf8").trim().split("\n");
    expect(counts()).toEqual(["upstream", "flaky"]);

    const restarted = await cli(["restart", id]);
    expect(restarted.stderr).toBe("");
    expect(restarted.stdout).toBe(`Flow run ${id} restarted: 2 task runs go again, 1 keeps its state; it is Scheduled\n`);
    expect(restarted.exitCode).toBe(0);

    let run: Run | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      run = (await graphql<{ flow_run_by_pk: Run }>(RUN, { id })).flow_run_by_pk;
      if (run.state === "Success" || run.state === "Failed") break;
      if (Date.now() > deadline) throw new Error(`the restarted run is still ${run.state}`);
      await Bun.sleep(100);
    }
    expect(run.state).toBe("Success");
    expect(counts()).toEqual(["upstream", "flaky", "flaky", "report 42"]);
    expect(run!.task_runs.map((t) => `${t.task_slug} ${t.state}`)).toEqual(["flaky-1 Success", "report-1 Success", "upstream-1 Success"]);
    const restartState = run!.states.find((s) => s.message.startsWith("Flow run restarted"));
    expect(restartState).toEqual({ state: "Scheduled", message: expect.stringMatching(/^Flow run restarted by .*prefectlite restart: 2 task runs go again, 1 keeps its state$/) });
    expect(run!.states.map((s) => s.state).slice(-4)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
  }, 90_000);
});
