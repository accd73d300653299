/** The backend commands as a user types them: create project, register, get, run --name, serve. */
import { describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runCli, tempDir } from "../helpers.ts";

/** A folder holding copies of two example flows (flows/ itself grows as examples are added). */
function exampleFlows(): string {
  const dir = tempDir();
  for (const f of ["hello_world.ts", "map_reduce.ts"]) copyFileSync(join(REPO_ROOT, "flows", f), join(dir, f));
  return dir;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe("create project", () => {
  test("creates a project, and says so when it exists (exit 0 both times)", async () => {
    const home = tempDir();
    const first = await runCli(["create", "project", "example"], { home });
    const again = await runCli(["create", "project", "example"], { home });
    expect(first).toMatchObject({ exitCode: 0, stdout: "Project 'example' created\n" });
    expect(again).toMatchObject({ exitCode: 0, stdout: "Project 'example' already exists\n" });
  });
});

describe("register", () => {
  test("prints SPEC's output, then skips the unchanged flow", async () => {
    const home = tempDir();
    await runCli(["create", "project", "example"], { home });
    const first = await runCli(["register", "-m", "prefectlite.hello_world", "--project", "example"], { home });
    expect(first.exitCode).toBe(0);
    const lines = first.stdout.split("\n");
    expect(lines[0]).toBe("Collecting flows...");
    expect(lines[1]).toBe("Processing 'prefectlite.hello_world':");
    expect(lines[2]).toBe("  Building `Module` storage...");
    expect(lines[3]).toBe("  Registering 'hello-world'... Done");
    expect(lines[4]).toMatch(new RegExp(`^  └── ID: ${UUID.source}$`));
    expect(lines[5]).toBe("  └── Version: 1");
    expect(lines[6]).toBe("======================== 1 registered ========================");

    const second = await runCli(["register", "-m", "prefectlite.hello_world", "--project", "example"], { home });
    expect(second.stdout).toContain("  Registering 'hello-world'... Skipped (metadata unchanged)\n");
    expect(second.stdout).toContain("0 registered, 1 skipped");
    const forced = await runCli(["register", "-m", "prefectlite.hello_world", "--project", "example", "--force"], { home });
    expect(forced.stdout).toContain("  └── Version: 2");
  });

  test("registers every flow of a folder's files, and only --name ones when given", async () => {
    const home = tempDir();
    await runCli(["create", "project", "p"], { home });
    const flows = exampleFlows();
    const only = await runCli(["register", "-p", flows, "--project", "p", "--name", "map-reduce"], { home });
    expect(only.stdout).toContain("Registering 'map-reduce'... Done");
    expect(only.stdout).not.toContain("Registering 'hello-world'");
    const all = await runCli(["register", "-p", flows, "--project", "p"], { home });
    expect(all.stdout).toContain("Registering 'hello-world'... Done");
    expect(all.stdout).toContain("1 registered, 1 skipped");
  });

  test("refuses an unknown project and a missing --project with one line, exit 2", async () => {
    const home = tempDir();
    const unknown = await runCli(["register", "-m", "prefectlite.hello_world", "--project", "nope"], { home });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim()).toBe("Error: Project 'nope' does not exist: create it with prefectlite create project 'nope'");
    const missing = await runCli(["register", "-m", "prefectlite.hello_world"], { home });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).not.toContain("    at ");
  });

  test("a file that fails to load is reported and counted as errored (exit 1)", async () => {
    const home = tempDir();
    const dir = tempDir();
    writeFileSync(join(dir, "bad.ts"), `throw new Error("no luck");\n`);
    await runCli(["create", "project", "p"], { home });
    const r = await runCli(["register", "-p", dir, "--project", "p"], { home });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("no luck");
    expect(r.stdout).toContain("0 registered, 1 errored");
  });
});

describe("get and run --name", () => {
  test("lists projects, flows and flow runs as tables and JSON; run --name prints the run card", async () => {
    const home = tempDir();
    await runCli(["create", "project", "example"], { home });
    await runCli(["register", "-m", "prefectlite.hello_world", "--project", "example"], { home });

    const card = await runCli(["run", "--name", "hello-world", "--param", "name=marvin", "--run-name", "my-run"], { home });
    expect(card.exitCode).toBe(0);
    const lines = card.stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "Looking up flow metadata... Done",
      "Creating run for flow 'hello-world'... Done",
      "└── Name: my-run",
    ]);
    expect(lines[3]).toMatch(new RegExp(`^└── UUID: ${UUID.source}$`));
    expect(lines.slice(4, 7)).toEqual(["└── Labels: []", '└── Parameters: {"name":"marvin"}', "└── Context: {}"]);
    expect(lines[7]).toMatch(/^└── URL: http:\/\/127\.0\.0\.1:4200\/flow-run\//);

    const flows = await runCli(["get", "flows"], { home });
    expect(flows.stdout.split("\n")[0]).toMatch(/^NAME\s+VERSION\s+PROJECT\s+ARCHIVED\s+ID$/);
    expect(flows.stdout).toMatch(/hello-world\s+1\s+example/);

    const runs = JSON.parse((await runCli(["get", "flow-runs", "--json"], { home })).stdout);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: "my-run", state: "Scheduled", flow: { name: "hello-world" } });

    const projects = JSON.parse((await runCli(["get", "projects", "--json"], { home })).stdout);
    expect(projects.map((p: { name: string }) => p.name)).toEqual(["example"]);
  });

  test("run --name for an unknown flow or with a bad parameter is one line, exit 2", async () => {
    const home = tempDir();
    await runCli(["create", "project", "example"], { home });
    await runCli(["register", "-m", "prefectlite.hello_world", "--project", "example"], { home });
    const unknown = await runCli(["run", "--name", "nope"], { home });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const badParam = await runCli(["run", "--name", "hello-world", "--param", "nmae=x"], { home });
    expect(badParam.exitCode).toBe(2);
    expect(badParam.stderr).toContain("nmae");
    expect(badParam.stderr).not.toContain("    at ");
  });

  test("a server that cannot be reached is exit 3", async () => {
    const r = await runCli(["get", "flows", "--api", "http://127.0.0.1:9"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("could not reach the prefectlite server at http://127.0.0.1:9");
  });
});

describe("serve", () => {
  test("refuses a non-loopback address without an API token (exit 2)", async () => {
    const r = await runCli(["serve", "--host", "0.0.0.0", "--port", "0"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("PREFECTLITE_API_TOKEN");
  });

  test("serves /health and the API with a --watch folder registered, and stops on SIGTERM", async () => {
    const home = tempDir();
    const flows = exampleFlows();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
    env.PREFECTLITE_HOME = home;
    const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "serve", "--port", "0", "--no-agent", "--watch", flows, "--project", "default"], {
      cwd: REPO_ROOT,
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("Watching '") || !out.includes("map-reduce")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url).toBeDefined();
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: "ok" });
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ flow(order_by: { name: asc }) { name project { name } } }" }),
    });
    expect(((await res.json()) as { data: unknown }).data).toEqual({
      flow: [
        { name: "hello-world", project: { name: "default" } },
        { name: "map-reduce", project: { name: "default" } },
      ],
    });
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });
});
