/** Parents built from the composing tasks' typed handles, executed with `run --name … --execute` (no server). */
import { beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT, runCli, useTempHome } from "../helpers.ts";

const FIXTURES = join(REPO_ROOT, "test/compose/fixtures/flows.ts");
const SLOW = 60_000;
const home = useTempHome();

beforeEach(async () => {
  expect((await runCli(["create", "project", "compose"], { home: home() })).exitCode).toBe(0);
  expect((await runCli(["register", "-p", FIXTURES, "--project", "compose"], { home: home() })).exitCode).toBe(0);
});

describe("parents of the fixtures", () => {
  test("a mapped child's results: one child by map index, and the whole list", async () => {
    const out = await runCli(["run", "--name", "parent-mapped", "--execute"], { home: home() });
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain("| INFO    | child 2: 31\n");
    expect(out.stdout).toContain("| INFO    | all: [11,21,31]\n");
  }, SLOW);

  test("waitForFlowRun hands the child's FlowRunView on", async () => {
    const out = await runCli(["run", "--name", "parent-watches", "--execute"], { home: home() });
    expect(out.exitCode).toBe(0);
    const name = /└── Name: (\S+)/.exec(out.stdout)![1];
    expect(out.stdout).toContain(`| INFO    | child: "${name}-child Success"\n`);
    expect(out.stdout).toContain(`| INFO    | Flow '${name}-child': Entered state <Success>: All reference tasks succeeded.\n`);
  }, SLOW);

  test("raiseFinalState: a failing child fails the parent (exit 1), its log lines relayed", async () => {
    const out = await runCli(["run", "--name", "parent-waits", "--execute"], { home: home() });
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toContain("| INFO    | Flow 'doomed': about to fail\n");
    expect(out.stdout).toMatch(/Task 'wait_for_flow_run': Finished task run for task with final state: 'Failed'/);
    expect(out.stdout).toContain("Flow run failed!");
  }, SLOW);
});
