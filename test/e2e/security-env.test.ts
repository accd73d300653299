/**
 * Issue 12, point 4, end to end against the compiled binary: `serve` with its in-process agent
 * refuses a run whose environment would load code (BUN_OPTIONS=--preload=data:…), and a run
 * stored with one anyway (an old row) executes without it, a warning naming the variable in
 * the server's log, the preloaded code never run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { build } from "../../scripts/build.ts";
import { runCli, tempDir } from "../helpers.ts";
import { cliEnv, collectOutput, FAST_SAFEGUARDS, listeningUrl, one, openHome, until } from "./process-helpers.ts";

let binary = "";
let work = "";
let home = "";
let serve: Subprocess<"ignore", "pipe", "pipe"> | undefined;
/** What the server printed so far. */
let output: () => string = () => "";
let url = "";

const marker = () => join(work, "PRELOAD_RAN");
const attack = () => `--preload=data:text/javascript;base64,${Buffer.from(`require("node:fs").writeFileSync(${JSON.stringify(marker())}, "owned");`).toString("base64")}`;

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  work = tempDir("prefectlite-security-env-");
  home = tempDir("prefectlite-security-home-");
  const seen = join(work, "seen.json");
  writeFileSync(
    join(work, "flow.ts"),
    `import { Flow, task } from "prefectlite";
import { writeFileSync } from "node:fs";
const look = task({ name: "look" }, () => {
  writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ bunOptions: process.env.BUN_OPTIONS ?? null, kept: process.env.RUN_CONFIG_KEPT ?? null }));
});
export const flow = new Flow("env-guard", () => { look(); });
`,
  );
  const env = { PREFECTLITE_HOME: home };
  expect((await runCli(["create", "project", "sec"], { command: [binary], home, cwd: work })).exitCode).toBe(0);
  expect((await runCli(["register", "-p", "flow.ts", "--project", "sec"], { command: [binary], home, cwd: work })).exitCode).toBe(0);
  serve = Bun.spawn([binary, "serve", "--port", "0", "--no-scheduler"], {
    cwd: work,
    env: cliEnv({ ...env, ...FAST_SAFEGUARDS, PREFECTLITE_AGENT_WARM_PROCESSES: "0" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  output = collectOutput(serve);
  url = await listeningUrl(output);
}, 120_000);

afterAll(async () => {
  if (serve) {
    serve.kill("SIGTERM");
    await serve.exited;
  }
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  for (const dir of [work, home]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function gql(query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url.replace(/\/$/, "")}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, any> | null; errors?: Array<{ message: string }> };
}

async function flowId(): Promise<string> {
  const r = await gql(`{ flow(where: { name: { _eq: "env-guard" } }) { id } }`, {});
  return r.data!.flow[0].id;
}

const CREATE = `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;

describe("the compiled binary's serve and agent, with a run environment that would load code", () => {
  test("create_flow_run with run_config.env BUN_OPTIONS=--preload=data:… is refused naming the variable; no run is made", async () => {
    const id = await flowId();
    const r = await gql(CREATE, { input: { flow_id: id, run_config: { env: { BUN_OPTIONS: attack() } } } });
    expect(r.errors?.[0]?.message).toContain('run_config.env may not set "BUN_OPTIONS"');
    expect(r.errors?.[0]?.message).not.toContain("base64");
    const backend = await openHome(home);
    try {
      expect((await one<{ n: number }>(backend, "SELECT count(*) AS n FROM flow_run")).n).toBe(0);
    } finally {
      await backend.close();
    }
  }, 60_000);

  test("a run stored with BUN_OPTIONS anyway executes without it: a warning names the variable, the preload never runs", async () => {
    const id = await flowId();
    const later = new Date(Date.now() + 3600_000).toISOString();
    const created = await gql(CREATE, { input: { flow_id: id, scheduled_start_time: later } });
    const runId = created.data!.create_flow_run.id as string;
    const backend = await openHome(home);
    try {
      // Old data: written before the check existed. Then make it due.
      const now = new Date(Date.now() - 1000).toISOString();
      await backend.sql("UPDATE flow_run SET run_config = $rc, scheduled_start_time = $now, state_start_time = $now WHERE id = $id", {
        id: runId,
        now,
        rc: JSON.stringify({ env: { BUN_OPTIONS: attack(), RUN_CONFIG_KEPT: "yes" } }),
      });
      const state = async () => (await one<{ state: string }>(backend, "SELECT state FROM flow_run WHERE id = $id", { id: runId })).state;
      await until(async () => ["Success", "Failed"].includes(await state()), `the run to finish (server output:\n${output()})`, 60_000);
      expect(await state()).toBe("Success");
    } finally {
      await backend.close();
    }
    expect(JSON.parse(readFileSync(join(work, "seen.json"), "utf8"))).toEqual({ bunOptions: null, kept: "yes" });
    expect(existsSync(marker())).toBe(false);
    expect(output()).toMatch(new RegExp(`flow run ${runId}: run_config\\.env sets "BUN_OPTIONS", which a run may not set`));
    expect(output()).not.toContain("base64");
  }, 90_000);
});
