/**
 * The compiled binary's heartbeat threads (worker modules bundled as entry points of their own,
 * scripts/build.ts): a task computing synchronously for a while in `run --execute` keeps its run
 * beating, on the embedded database file (through the store) and over HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "../../scripts/build.ts";
import { runCli, tempDir } from "../helpers.ts";
import { cliEnv, collectOutput, listeningUrl } from "./process-helpers.ts";

/** The task reads its run's heartbeat from the database file after computing for 1.5 s. */
const SPIN = `
import { Flow, Parameter, task, context } from "prefectlite";
import { Database } from "bun:sqlite";
const spin = task({ name: "spin" }, (path: string) => {
  const started = new Date().toISOString();
  const until = performance.now() + 1500;
  while (performance.now() < until) {}
  const db = new Database(path, { readonly: true });
  const row = db.query("SELECT heartbeat FROM flow_run WHERE id = ?").get(context().flowRunId) as { heartbeat: string | null };
  db.close();
  console.log("SEEN " + JSON.stringify({ started, heartbeat: row.heartbeat }));
});
export const flow = new Flow("spin", () => { spin(Parameter("db")); });
`;

let binary = "";
let userDir = "";

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  userDir = tempDir("prefectlite-user-");
  writeFileSync(join(userDir, "spin.ts"), SPIN);
}, 60_000);

afterAll(() => {
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  if (userDir) rmSync(userDir, { recursive: true, force: true });
});

/** Register the spin flow and `run --execute` it (with `extra` arguments); what the task saw. */
async function spinRun(home: string, db: string, extra: string[]): Promise<{ started: string; heartbeat: string | null }> {
  const options = { command: [binary], cwd: userDir, home, env: { PREFECTLITE_HEARTBEAT_SECONDS: "0.1" } };
  expect((await runCli(["create", "project", "p", ...extra], options)).exitCode).toBe(0);
  expect((await runCli(["register", "-p", "spin.ts", "--project", "p", ...extra], options)).exitCode).toBe(0);
  const run = await runCli(["run", "--name", "spin", "--execute", "--param", `db=${db}`, ...extra], options);
  expect(run.stderr).toBe("");
  expect(run.exitCode).toBe(0);
  return JSON.parse(/SEEN (\{.*\})/.exec(run.stdout)![1]!);
}

describe("the compiled binary's heartbeat thread", () => {
  test("run --execute on the database file: the run beats while its task computes synchronously", async () => {
    const home = tempDir("prefectlite-home-");
    const seen = await spinRun(home, join(home, "prefectlite.db"), []);
    expect(Date.parse(seen.heartbeat!)).toBeGreaterThan(Date.parse(seen.started));
  });

  test("run --execute --api: the run beats over HTTP while its task computes synchronously", async () => {
    const serverHome = tempDir("prefectlite-home-");
    const server = Bun.spawn([binary, "serve", "--port", "0", "--no-agent"], {
      cwd: userDir,
      env: cliEnv({ PREFECTLITE_HOME: serverHome }),
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const url = await listeningUrl(collectOutput(server));
      const seen = await spinRun(tempDir("prefectlite-home-"), join(serverHome, "prefectlite.db"), ["--api", url]);
      expect(Date.parse(seen.heartbeat!)).toBeGreaterThan(Date.parse(seen.started));
    } finally {
      server.kill("SIGTERM");
      await server.exited;
    }
  });
});
