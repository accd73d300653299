import { describe, expect, test } from "bun:test";
import { Flow, Parameter, task, unmapped } from "../../src/index.ts";
import { runRecorded } from "../helpers.ts";

/**
 * The task runner's own lines (Prefect's `prefect.TaskRunner` logger) belong to the task run they
 * speak of: a backed run files them under its task_run_id. Every path that writes one is here.
 */
describe("the task runner's log lines", () => {
  test("carry their task run's key on every path: parameter, mapped parent and child, retry, error, trigger", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky", maxRetries: 1, retryDelay: "1ms" }, () => {
      calls++;
      if (calls === 1) throw new Error("first try fails");
      return 1;
    });
    const inc = task({ name: "inc" }, (x: number, by: number) => x + by);
    const boom = task({ name: "boom" }, (): number => {
      throw new Error("kaboom");
    });
    const after = task({ name: "after" }, (x: number) => x);
    const flow = new Flow("runner-lines", () => {
      const n = Parameter("n", { default: 2 });
      flaky();
      inc.map([1, 2], unmapped(n));
      after(boom());
    });
    const { reporter } = await runRecorded(flow);
    const lines = reporter.logs.filter((r) => r.name === "prefectlite.TaskRunner").map((r) => [r.taskRunKey, r.level, r.message]);
    expect(lines).toContainEqual(["n", "INFO", "Task 'n': Starting task run..."]);
    expect(lines).toContainEqual(["inc-1", "INFO", "Task 'inc': Finished task run for task with final state: 'Mapped'"]);
    expect(lines).toContainEqual(["inc-1[1]", "INFO", "Task 'inc[1]': Finished task run for task with final state: 'Success'"]);
    expect(lines).toContainEqual(["flaky-1", "INFO", "Task 'flaky': Finished task run for task with final state: 'Retrying'"]);
    expect(lines).toContainEqual(["flaky-1", "INFO", "Task 'flaky': Finished task run for task with final state: 'Success'"]);
    expect(lines.find((l) => l[0] === "boom-1" && l[1] === "ERROR")?.[2]).toStartWith("Task 'boom': Exception encountered during task execution!");
    expect(lines).toContainEqual(["after-1", "INFO", "Task 'after': Finished task run for task with final state: 'TriggerFailed'"]);
    // The flow's own lines stay the flow runner's, with no task run.
    const flowLines = reporter.logs.filter((r) => r.name === "prefectlite.FlowRunner");
    expect(flowLines.map((r) => r.message)).toContain("Beginning Flow run for 'runner-lines'");
    expect(flowLines.every((r) => r.taskRunKey === undefined)).toBe(true);
  });

  test("are dropped below the run's log level", async () => {
    const one = task({ name: "one" }, () => 1);
    const { reporter } = await runRecorded(new Flow("quiet-runner", () => [one()]), { logLevel: "WARNING" });
    expect(reporter.logs.filter((r) => r.name === "prefectlite.TaskRunner")).toEqual([]);
  });
});
