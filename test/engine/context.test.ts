import { describe, expect, test } from "bun:test";
import { Flow, Parameter, context, getLogger, task, type RunContext } from "../../src/index.ts";
import { deferred, runRecorded } from "../helpers.ts";

describe("context()", () => {
  test("inside a task gives the run's ids, the task's slug and map index, the parameters and a logger", async () => {
    const seen: RunContext[] = [];
    const look = task({ name: "look" }, (_x: number) => {
      const ctx = context();
      seen.push(ctx);
      ctx.logger.info(`looking at ${ctx.mapIndex}`);
      getLogger().warning("via getLogger");
    });
    const flow = new Flow("ctx", () => {
      const p = Parameter("p", { default: "v" });
      look(1);
      look.map([5, 6]);
      void p;
    });
    const { state, reporter } = await runRecorded(flow, {
      identity: { flowRunId: "run-1", flowRunName: "brave-otter" },
      parameters: { p: "given" },
    });
    expect(state.type).toBe("Success");
    const bySlug = seen.map((c) => [c.taskSlug, c.mapIndex, c.taskName, c.flowRunId, c.flowRunName, c.flowName, c.parameters]);
    expect(bySlug.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      ["look-1", -1, "look", "run-1", "brave-otter", "ctx", { p: "given" }],
      ["look-2", 0, "look", "run-1", "brave-otter", "ctx", { p: "given" }],
      ["look-2", 1, "look", "run-1", "brave-otter", "ctx", { p: "given" }],
    ]);
    expect(new Set(seen.map((c) => c.taskRunId)).size).toBe(3);
    expect(seen.find((c) => c.mapIndex === 1)!.taskRunId).toBe("run-1/look-2[1]");
    const records = reporter.logs.filter((r) => r.message.startsWith("looking at"));
    expect(records.map((r) => [r.message, r.taskRunKey, r.level, r.name]).sort()).toEqual([
      ["looking at -1", "look-1", "INFO", "prefectlite.Task: look"],
      ["looking at 0", "look-2[0]", "INFO", "prefectlite.Task: look"],
      ["looking at 1", "look-2[1]", "INFO", "prefectlite.Task: look"],
    ]);
    expect(reporter.logs.filter((r) => r.message === "via getLogger" && r.level === "WARNING")).toHaveLength(3);
  });

  test("each concurrent task sees its own context across awaits", async () => {
    const gate = deferred();
    const slugs: string[] = [];
    const first = task({ name: "first" }, async () => {
      await gate.promise;
      slugs.push(context().taskSlug!);
    });
    const second = task({ name: "second" }, async () => {
      slugs.push(context().taskSlug!);
      gate.resolve();
    });
    await runRecorded(new Flow("ctx2", () => [first(), second()]));
    expect(slugs).toEqual(["second-1", "first-1"]);
  });

  test("outside a run throws a clear error", () => {
    expect(() => context()).toThrow("context() is only available inside a task while a flow run executes");
    expect(() => getLogger()).toThrow("context() is only available");
  });

  test("the log level drops records below it", async () => {
    const chatty = task({ name: "chatty" }, () => {
      context().logger.debug("debug line");
      context().logger.info("info line");
      context().logger.error("error line");
    });
    const flow = new Flow("levels", () => chatty());
    const debug = await runRecorded(flow, { logLevel: "DEBUG" });
    expect(debug.reporter.messages()).toContain("debug line");
    const warning = await runRecorded(flow, { logLevel: "WARNING" });
    expect(warning.reporter.messages()).toEqual(["error line"]);
  });
});

describe("logStdout", () => {
  // What the other task prints still reaches the real stdout: test/cli/run-local.test.ts checks that.
  test("routes console output of that task only to its log, even while another task prints", async () => {
    const gate = deferred();
    const loud = task({ name: "loud", logStdout: true }, async () => {
      await gate.promise;
      console.log("from loud", { n: 1 });
      console.warn("warned");
    });
    const quiet = task({ name: "quiet" }, () => {
      console.log("(printed by the quiet task on purpose)");
      gate.resolve();
    });
    const { reporter } = await runRecorded(new Flow("stdout", () => [loud(), quiet()]));
    // The task's own lines (the runner's "Starting task run..." lines are also filed under it).
    const ownLines = (key: string) => reporter.logs.filter((r) => r.taskRunKey === key && r.name !== "prefectlite.TaskRunner");
    const captured = ownLines("loud-1").map((r) => [r.level, r.message]);
    expect(captured).toEqual([
      ["INFO", "from loud { n: 1 }"],
      ["WARNING", "warned"],
    ]);
    expect(ownLines("quiet-1")).toEqual([]);
  });
});
