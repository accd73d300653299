import { afterEach, describe, expect, test } from "bun:test";
import { BackendReporter } from "../../src/backed/backend-reporter.ts";
import type { Backend } from "../../src/client/backend.ts";
import type { LogRecord } from "../../src/core/logging.ts";
import { makeState } from "../../src/core/state.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, readRun, type BackedFixture } from "./helpers.ts";

const CHAIN = `
import { Flow, Parameter, task } from "prefectlite";
const one = task({ name: "one" }, () => 1);
const two = task({ name: "two" }, (x: number) => x + 1);
export const flow = new Flow("pair", () => {
  Parameter("dir");
  two(one());
});
`;

const line = (message: string): LogRecord => ({ timestamp: Date.now(), level: "INFO", name: "prefectlite.TaskRunner", message, taskRunKey: "one-1" });

describe("a backed run's reporter when its run is cancelled under it", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function started(): Promise<{ api: Backend; id: string; reporter: BackendReporter; printed: string[]; cancelSeen: () => number }> {
    fx = await backedFixture(CHAIN);
    const id = await fx.createRun();
    const api = await fx.client.backend();
    const details = (await api.readFlowRun(id))!;
    const version = await api.setFlowRunState(id, details.version, makeState("Running").toJSON());
    const printed: string[] = [];
    let seen = 0;
    const reporter = new BackendReporter(api, {
      flowRunId: id,
      flowRunVersion: version,
      taskRuns: details.task_runs,
      versionLocking: false,
      warn: () => {},
      onLog: (r) => printed.push(r.message),
      onCancelSeen: () => seen++,
    });
    return { api, id, reporter, printed, cancelSeen: () => seen };
  }

  test("a task that started before the run went Cancelling keeps its Running and its final state, with its line", async () => {
    const { api, id, reporter, printed } = await started();
    await reporter.setTaskRunState({ slug: "one-1", mapIndex: -1 }, makeState("Running"));
    await api.cancel(id);
    await reporter.setTaskRunStateWithLine({ slug: "one-1", mapIndex: -1 }, makeState("Success"), line("Task 'one': Finished task run for task with final state: 'Success'"));
    await reporter.flush();
    const run = await readRun(fx!.client, id);
    expect(run.task_runs.find((t) => t.task_slug === "one-1")!.state).toBe("Success");
    expect(run.logs.map((l) => l.message)).toContain("Task 'one': Finished task run for task with final state: 'Success'");
    expect(printed).toEqual(["Task 'one': Finished task run for task with final state: 'Success'"]);
  });

  test("a final state the backend no longer takes (the run was Cancelled meanwhile): the log says it was not recorded, never that it was reached", async () => {
    const { api, id, reporter, printed, cancelSeen } = await started();
    await reporter.setTaskRunState({ slug: "one-1", mapIndex: -1 }, makeState("Running"));
    await reporter.flush();
    await api.cancel(id);
    const current = (await api.readFlowRunState(id))!;
    await api.setFlowRunState(id, current.version, makeState("Cancelled").toJSON());
    await reporter.setTaskRunStateWithLine({ slug: "one-1", mapIndex: -1 }, makeState("Success"), line("Task 'one': Finished task run for task with final state: 'Success'"));
    await reporter.flush();
    const run = await readRun(fx!.client, id);
    expect(run.task_runs.find((t) => t.task_slug === "one-1")!.state).toBe("Cancelled");
    const messages = run.logs.map((l) => l.message);
    expect(messages).not.toContain("Task 'one': Finished task run for task with final state: 'Success'");
    expect(messages).toContain("Task run one-1: its state 'Success' was not recorded: the task run is already Cancelled");
    expect(printed).toEqual(["Task run one-1: its state 'Success' was not recorded: the task run is already Cancelled"]);
    expect(cancelSeen()).toBe(1);
  });
});
