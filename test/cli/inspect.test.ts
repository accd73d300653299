/** `prefectlite inspect flow-run ID` through the real CLI, on a run written the way a backed run writes it. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Flow, Parameter, task } from "../../src/index.ts";
import { runCli, tempDir } from "../helpers.ts";
import { Seeder } from "../views/seed.ts";

const say = task({ name: "say" }, (name: string) => `hi ${name}`);
const inc = task({ name: "inc" }, (x: number) => x + 1);
const demo = new Flow("demo", () => {
  say(Parameter("name", { default: "world" }));
  inc.map([0, 1, 2]);
});

let home: string;
let seed: Seeder;
let flowId: string;
let runId: string;

beforeEach(async () => {
  home = tempDir();
  seed = await Seeder.open(home);
  flowId = await seed.register(demo);
  runId = await seed.client.createFlowRun({ flowId, parameters: { name: "marvin" }, context: { team: "a" }, labels: ["red"], runName: "inspected-run" });
  await seed.setFlowRunState(runId, { type: "Running", message: "Running flow." });
  await seed.succeed(runId, "name", "marvin");
  await seed.succeed(runId, "say-1", "hi marvin");
  await seed.mapped(runId, "inc-1", [1, 2, 3]);
  await seed.finishRun(runId);
});
afterEach(() => seed.close());

describe("inspect flow-run", () => {
  test("prints the run card, the state history and the task runs with their result locations", async () => {
    const out = await runCli(["inspect", "flow-run", runId], { home });
    expect(out.stderr).toBe("");
    expect(out.exitCode).toBe(0);
    const lines = out.stdout.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "Flow run 'inspected-run'",
      `└── ID: ${runId}`,
      `└── Flow: demo (version 1, project 'test', id ${flowId})`,
      "└── State: Success: All reference tasks succeeded.",
      '└── Labels: ["red"]',
      '└── Parameters: {"name":"marvin"}',
      '└── Context: {"team":"a"}',
    ]);
    expect(lines[7]).toMatch(/^└── Scheduled: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(lines[8]).toMatch(/^└── Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(lines[9]).toMatch(/^└── Ended: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const states = lines.slice(lines.indexOf("States:") + 1, lines.indexOf("Task runs:")).filter(Boolean);
    expect(states[0]).toMatch(/^ {2}TIME\s+STATE\s+MESSAGE$/);
    expect(states.slice(1).map((l) => l.replace(/^ {2}\S+ \S+\s+/, ""))).toEqual([
      "Scheduled  Flow run scheduled.",
      "Running    Running flow.",
      "Success    All reference tasks succeeded.",
    ]);
    const taskRuns = lines.slice(lines.indexOf("Task runs:") + 1).filter(Boolean);
    expect(taskRuns[0]).toMatch(/^ {2}TASK RUN\s+MAP INDEX\s+STATE\s+DURATION\s+RESULT$/);
    const result = `${home}/results/\\S+\\.prefect_result`;
    const rows = taskRuns.slice(1).map((l) => l.trim());
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatch(/^inc-1\s+Mapped\s+\d+ms$/);
    rows.slice(1, 4).forEach((row, i) => expect(row).toMatch(new RegExp(`^inc-1\\s+${i}\\s+Success\\s+(\\d+ms\\s+)?${result}$`)));
    expect(rows[4]).toMatch(new RegExp(`^name\\s+Success\\s+\\S+\\s+${result}$`));
    expect(rows[5]).toMatch(new RegExp(`^say-1\\s+Success\\s+\\S+\\s+${result}$`));
  });

  test("--json gives the run, its states and every task run with its result location", async () => {
    const out = await runCli(["inspect", "flow-run", runId, "--json"], { home });
    expect(out.exitCode).toBe(0);
    const record = JSON.parse(out.stdout);
    expect(record).toMatchObject({
      id: runId,
      name: "inspected-run",
      flow: { id: flowId, name: "demo", version: 1, project: "test" },
      state: { type: "Success", message: "All reference tasks succeeded." },
      labels: ["red"],
      parameters: { name: "marvin" },
      context: { team: "a" },
    });
    expect(record.states.map((s: { type: string }) => s.type)).toEqual(["Scheduled", "Running", "Success"]);
    expect(record.taskRuns.map((t: { taskSlug: string; mapIndex: number }) => `${t.taskSlug}[${t.mapIndex}]`)).toEqual([
      "inc-1[-1]",
      "inc-1[0]",
      "inc-1[1]",
      "inc-1[2]",
      "name[-1]",
      "say-1[-1]",
    ]);
    const child = record.taskRuns[1];
    expect(await Bun.file(child.resultLocation).json()).toEqual({ value: 1 });
    expect(record.taskRuns[0].resultLocation).toBeNull();
  });

  test("bad input: one line, exit 2, nothing on stdout", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await runCli(["inspect", "flow-run", missing], { home })).toEqual({ exitCode: 2, stdout: "", stderr: `Error: Flow run ${missing} not found\n` });
    expect(await runCli(["inspect", "flow-run", "nope"], { home })).toEqual({
      exitCode: 2,
      stdout: "",
      stderr: 'Error: Flow run "nope" not found: flow run ids are UUIDs\n',
    });
    expect(await runCli(["inspect", "flow", runId], { home })).toEqual({ exitCode: 2, stdout: "", stderr: "Error: can only inspect a flow-run, a flow-file or a module (got 'flow')\n" });
  });
});
