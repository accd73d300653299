import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fixture, normalizeClock, runCli, tempDir } from "../helpers.ts";

const HELLO_WORLD = `Retrieving local flow... Done
Running flow locally...
└── HH:MM:SS | INFO    | Beginning Flow run for 'hello-world'
└── HH:MM:SS | INFO    | Task 'name': Starting task run...
└── HH:MM:SS | INFO    | Task 'name': Finished task run for task with final state: 'Success'
└── HH:MM:SS | INFO    | Task 'capitalize': Starting task run...
└── HH:MM:SS | INFO    | Task 'capitalize': Finished task run for task with final state: 'Success'
└── HH:MM:SS | INFO    | Task 'say_hello': Starting task run...
└── HH:MM:SS | INFO    | Hello World
└── HH:MM:SS | INFO    | Task 'say_hello': Finished task run for task with final state: 'Success'
└── HH:MM:SS | INFO    | Flow run SUCCESS: all reference tasks succeeded
Flow run succeeded!
`;

describe("prefectlite run -p / -m", () => {
  test("runs the built-in hello world with SPEC §3's output, exit 0, writing nothing under the home", async () => {
    const home = tempDir();
    const { exitCode, stdout, stderr } = await runCli(["run", "-m", "prefectlite.hello_world"], { home });
    expect(normalizeClock(stdout)).toBe(HELLO_WORLD);
    expect(stdout).toMatch(/^└── \d{2}:\d{2}:\d{2} \| INFO {4}\| Hello World$/m);
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    expect(readdirSync(home)).toEqual([]);
  });

  test("--param name=marvin says Hello Marvin; the alias prefectlite/hello_world works too", async () => {
    const { exitCode, stdout } = await runCli(["run", "-m", "prefectlite/hello_world", "--param", "name=marvin"]);
    expect(stdout).toContain("Configured local flow run\n└── Parameters: {\"name\":\"marvin\"}\n");
    expect(stdout).toMatch(/\| INFO {4}\| Hello Marvin\n/);
    expect(exitCode).toBe(0);
  });

  test("--params JSON sets parameters; --param wins over it", async () => {
    const viaJson = await runCli(["run", "-m", "prefectlite.hello_world", "--params", '{"name":"x"}']);
    expect(viaJson.stdout).toContain("| Hello X\n");
    const both = await runCli(["run", "-m", "prefectlite.hello_world", "--params", '{"name":"x"}', "--param", "name=y"]);
    expect(both.stdout).toContain("| Hello Y\n");
    expect(both.exitCode).toBe(0);
  });

  test("--param values are JSON when they parse, else strings; falsy values are values", async () => {
    const { exitCode, stdout } = await runCli(["run", "-p", fixture("needs-param.ts"), "--param", "count=0", "--param", "label="]);
    expect(stdout).toContain('| count=0 label=""\n');
    expect(exitCode).toBe(0);
    const text = await runCli(["run", "-p", fixture("needs-param.ts"), "--param", "count=12", "--param", "label=[oops"]);
    expect(text.stdout).toContain('| count=12 label="[oops"\n');
  });

  test("--name picks one of several flows in a file", async () => {
    const { exitCode, stdout } = await runCli(["run", "-p", fixture("two-flows.ts"), "--name", "second"]);
    expect(stdout).toContain("Beginning Flow run for 'second'");
    expect(exitCode).toBe(0);
  });

  test("--log-level WARNING hides the INFO lines; DEBUG is accepted", async () => {
    const quiet = await runCli(["run", "-m", "prefectlite.hello_world", "--log-level", "warning"]);
    expect(quiet.stdout).toBe("Retrieving local flow... Done\nRunning flow locally...\nFlow run succeeded!\n");
    const debug = await runCli(["run", "-m", "prefectlite.hello_world", "--log-level", "DEBUG"]);
    expect(debug.exitCode).toBe(0);
  });

  test("logStdout captures that task's console.log into the log; another task's output stays plain", async () => {
    const { stdout } = await runCli(["run", "-p", fixture("stdout.ts")]);
    expect(stdout).toMatch(/^└── \d{2}:\d{2}:\d{2} \| INFO {4}\| captured line$/m);
    expect(stdout).toMatch(/^plain line$/m);
    expect(stdout).not.toContain("| plain line");
  });

  test("a flow run that fails prints the user's error, 'Flow run failed!' and exits 1", async () => {
    const { exitCode, stdout, stderr } = await runCli(["run", "-p", fixture("failing.ts")]);
    expect(stdout).toContain("| ERROR   | Task 'explode': Exception encountered during task execution!\nError: exploded on purpose\n");
    expect(stdout).toContain("failing.ts:");
    expect(stdout).not.toContain("task-runner.ts");
    expect(stdout).toContain("Flow run FAILED: some reference tasks failed.");
    expect(stdout.endsWith("Flow run failed!\n")).toBe(true);
    expect(stderr).toBe("");
    expect(exitCode).toBe(1);
  });

  test("a task calling process.exit fails (not retried), its downstream TriggerFailed, 'Flow run failed!', exit 1", async () => {
    const { exitCode, stdout, stderr } = await runCli(["run", "-p", fixture("exits.ts")]);
    expect(stdout).toMatch(/^└── \d{2}:\d{2}:\d{2} \| ERROR   \| Task 'quits': the task called process.exit\(3\)$/m);
    expect(stdout.match(/Task 'quits': Starting task run/g)).toHaveLength(1);
    expect(stdout).toContain("Task 'quits': Finished task run for task with final state: 'Failed'");
    expect(stdout).toContain("Task 'after': Finished task run for task with final state: 'TriggerFailed'");
    expect(stdout).toContain("Flow run FAILED: some reference tasks failed.");
    expect(stdout.endsWith("Flow run failed!\n")).toBe(true);
    expect(stdout + stderr).not.toContain("    at ");
    expect(stderr).toBe("");
    expect(exitCode).toBe(1);
  });

  test("process.exit from a task's timer, or caught by the task, still fails the run: one line says so, exit 1", async () => {
    for (const how of ["timer", "caught"]) {
      const { exitCode, stdout, stderr } = await runCli(["run", "-p", fixture("exits.ts"), "--param", `how=${how}`]);
      const code = how === "timer" ? "4" : "0";
      expect(stdout).toContain(`\nprocess.exit(${code}) was called during the run (from a timer, or caught by the task): the run counts as failed\nFlow run failed!\n`);
      expect(stderr).toBe("");
      expect(exitCode).toBe(1);
    }
  });

  test("results asked for land under PREFECTLITE_HOME/results", async () => {
    const home = tempDir();
    const { exitCode } = await runCli(["run", "-p", join(import.meta.dir, "../../flows/map_reduce.ts"), "--param", "n=3"], { home });
    expect(exitCode).toBe(0);
    expect(existsSync(join(home, "results"))).toBe(true);
  });
});

describe("bad input: one line on stderr, exit 2, no stack trace", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["a missing file", ["run", "-p", "no/such/flow.ts"], /^Error: Path 'no\/such\/flow.ts' doesn't exist$/],
    ["a file exporting no flow", ["run", "-p", fixture("no-flow.ts")], /^Error: Found no flows at .*no-flow\.ts$/],
    ["several flows and no --name", ["run", "-p", fixture("two-flows.ts")], /^Error: Found multiple flows at .*'first', 'second'\. Specify a flow name to run with --name$/],
    ["an unknown --name", ["run", "-p", fixture("two-flows.ts"), "--name", "third"], /^Error: Did not find 'third' in flows at .*Found 'first', 'second'$/],
    ["a syntax error", ["run", "-p", fixture("broken-syntax.ts")], /^Error: Failed to load '.*broken-syntax\.ts': .*\(line 4, column \d+\)$/],
    ["a throw at import", ["run", "-p", fixture("throws-at-import.ts")], /^Error: Failed to load '.*throws-at-import\.ts': database password not set$/],
    ["an unknown module", ["run", "-m", "no_such_module_here"], /^Error: Module 'no_such_module_here' could not be found$/],
    ["malformed --params", ["run", "-m", "prefectlite.hello_world", "--params", "{bad"], /^Error: --params is not valid JSON: /],
    ["--params that is not an object", ["run", "-m", "prefectlite.hello_world", "--params", "[1]"], /^Error: --params must be a JSON object$/],
    ["a --param without =", ["run", "-m", "prefectlite.hello_world", "--param", "name"], /^Error: --param expects key=value, got 'name'$/],
    ["a missing required parameter", ["run", "-p", fixture("needs-param.ts")], /^Error: flow 'needs-param' is missing required parameter 'count'$/],
    ["an unknown --param name", ["run", "-m", "prefectlite.hello_world", "--param", "nam=x"], /^Error: flow 'hello-world' has no parameter 'nam' \(its parameters: name\)$/],
    ["a bad --log-level", ["run", "-m", "prefectlite.hello_world", "--log-level", "LOUD"], /^Error: --log-level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL \(got 'LOUD'\)$/],
    ["both -p and -m", ["run", "-p", fixture("failing.ts"), "-m", "prefectlite.hello_world"], /^Error: give either -p PATH or -m MODULE, not both$/],
    ["run with nothing to run", ["run"], /^Error: Received no options to look up the flow/],
    ["an unknown command", ["frobnicate"], /^Error: unknown command 'frobnicate'/],
  ];
  for (const [what, args, line] of cases) {
    test.concurrent(what, async () => {
      const { exitCode, stdout, stderr } = await runCli(args);
      const lines = stderr.split("\n").filter(Boolean);
      expect({ lines: lines.length, first: lines[0] }).toEqual({ lines: 1, first: expect.stringMatching(line) });
      expect(stderr + stdout).not.toContain("    at ");
      expect(stdout).not.toContain("Running flow locally");
      expect(exitCode).toBe(2);
    });
  }
});
