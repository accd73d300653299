/** `get task-runs --flow-run ID` and `get logs --flow-run ID [--level] [--follow]` through the real CLI. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Flow, Parameter, task } from "../../src/index.ts";
import { normalizeClock, REPO_ROOT, runCli, tempDir } from "../helpers.ts";
import { Seeder } from "../views/seed.ts";

const say = task({ name: "say" }, (name: string) => `hi ${name}`);
const inc = task({ name: "inc" }, (x: number) => x + 1);
const demo = new Flow("demo", () => {
  say(Parameter("name", { default: "world" }));
  inc.map([0, 1, 2]);
});

let home: string;
let seed: Seeder;
let runId: string;

async function writeLogs(logs: Array<{ level: string; message: string; timestamp?: string }>) {
  await seed.client.graphql(`mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { written } }`, {
    input: { logs: logs.map((l) => ({ flow_run_id: runId, ...l })) },
  });
}

beforeEach(async () => {
  home = tempDir();
  seed = await Seeder.open(home);
  runId = await seed.startRun(await seed.register(demo));
  await seed.succeed(runId, "name", "world");
  await seed.mapped(runId, "inc-1", [1, 2, 3]);
  await writeLogs([
    { level: "DEBUG", message: "debugging", timestamp: "2024-01-01T10:00:01.000Z" },
    { level: "INFO", message: "hello", timestamp: "2024-01-01T10:00:02.000Z" },
    { level: "WARNING", message: "careful", timestamp: "2024-01-01T10:00:03.000Z" },
  ]);
});
afterEach(() => seed.close());

describe("get task-runs", () => {
  test("lists a flow run's task runs, children included, by slug then map index", async () => {
    const out = await runCli(["get", "task-runs", "--flow-run", runId], { home });
    expect(out.exitCode).toBe(0);
    const lines = out.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TASK RUN\s+MAP INDEX\s+STATE\s+START\s+DURATION\s+ID$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ["inc-1", "Mapped", lines[1]!.split(/\s{2,}/)[2]!],
      ["inc-1", "0", "Success"],
      ["inc-1", "1", "Success"],
      ["inc-1", "2", "Success"],
      ["name", "Success", lines[5]!.split(/\s{2,}/)[2]!],
      ["say-1", "Pending", lines[6]!.split(/\s{2,}/)[2]!],
    ]);
  });

  test("--json gives the records with result locations; --state filters; --limit says what it left out", async () => {
    const json = await runCli(["get", "task-runs", "--flow-run", runId, "--json", "--state", "Success"], { home });
    const records = JSON.parse(json.stdout) as Array<{ taskSlug: string; mapIndex: number; state: string; resultLocation: string | null }>;
    expect(records.map((r) => `${r.taskSlug}[${r.mapIndex}] ${r.state}`)).toEqual(["inc-1[0] Success", "inc-1[1] Success", "inc-1[2] Success", "name[-1] Success"]);
    expect(await Bun.file(records[2]!.resultLocation!).json()).toEqual({ value: 3 });
    const limited = await runCli(["get", "task-runs", "--flow-run", runId, "--limit", "2"], { home });
    expect(limited.stdout.trimEnd().split("\n")).toHaveLength(4);
    expect(limited.stdout).toEndWith("(2 of 6 task runs: raise --limit to see more)\n");
  });

  test("bad input: no --flow-run, an unknown run", async () => {
    expect(await runCli(["get", "task-runs"], { home })).toEqual({ exitCode: 2, stdout: "", stderr: "Error: get task-runs needs --flow-run ID\n" });
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await runCli(["get", "task-runs", "--flow-run", missing], { home })).toEqual({ exitCode: 2, stdout: "", stderr: `Error: Flow run ${missing} not found\n` });
  });
});

describe("get logs", () => {
  test("prints a run's log lines oldest first; --level keeps that level and above", async () => {
    const all = await runCli(["get", "logs", "--flow-run", runId], { home });
    expect(all.exitCode).toBe(0);
    expect(normalizeClock(all.stdout)).toBe("HH:MM:SS | DEBUG   | debugging\nHH:MM:SS | INFO    | hello\nHH:MM:SS | WARNING | careful\n");
    const warnings = await runCli(["get", "logs", "--flow-run", runId, "--level", "warning"], { home });
    expect(normalizeClock(warnings.stdout)).toBe("HH:MM:SS | WARNING | careful\n");
    const json = await runCli(["get", "logs", "--flow-run", runId, "--json", "--level", "INFO"], { home });
    expect(JSON.parse(json.stdout).map((l: { level: string; message: string; timestamp: string }) => [l.level, l.message, l.timestamp])).toEqual([
      ["INFO", "hello", "2024-01-01T10:00:02.000Z"],
      ["WARNING", "careful", "2024-01-01T10:00:03.000Z"],
    ]);
  });

  test("--follow keeps printing new lines until the run finishes", async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
    const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "get", "logs", "--flow-run", runId, "--follow", "--level", "INFO"], {
      env: { ...env, PREFECTLITE_HOME: home },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes("careful\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    // The run is still Running: the command waits; what is written now must still come out.
    await writeLogs([{ level: "INFO", message: "written later" }, { level: "DEBUG", message: "too quiet" }]);
    await seed.finishRun(runId);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    expect(await proc.exited).toBe(0);
    expect(normalizeClock(seen)).toBe("HH:MM:SS | INFO    | hello\nHH:MM:SS | WARNING | careful\nHH:MM:SS | INFO    | written later\n");
  }, 30_000);

  test("bad input: a bad level, no --flow-run, an unknown what", async () => {
    expect(await runCli(["get", "logs", "--flow-run", runId, "--level", "LOUD"], { home })).toEqual({
      exitCode: 2,
      stdout: "",
      stderr: "Error: --level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')\n",
    });
    expect(await runCli(["get", "logs"], { home })).toEqual({ exitCode: 2, stdout: "", stderr: "Error: get logs needs --flow-run ID\n" });
    const unknown = await runCli(["get", "everything"], { home });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe("Error: get what? 'everything' is not one of: projects, flows, flow-runs, task-runs, logs\n");
  });
});
