import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, calls, readRun, rerun, taskStates, type BackedFixture } from "./helpers.ts";

const FLOW = `
import { Flow, Parameter, task, context } from "prefectlite";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
const dir = () => context().parameters.dir as string;
const count = (name: string) => appendFileSync(join(dir(), name), "x");

const first = task({ name: "first" }, () => { count("first"); return 5; });
const times = task({ name: "times" }, (x: number, k: number) => {
  count("times-" + k);
  if (existsSync(join(dir(), "fail-" + k))) throw new Error("failing on purpose");
  return x * k;
});
const total = task({ name: "total" }, (xs: number[]) => { count("total"); return xs.reduce((a, b) => a + b, 0); });

export const flow = new Flow("resumable", () => {
  Parameter("dir");
  const x = first();
  const products = times.map(unmapped(x), [1, 2, 3]);
  total(products);
});
`.replace("import { Flow, Parameter, task, context }", "import { Flow, Parameter, task, context, unmapped }");

describe("resuming a backed run", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  test("a re-run keeps the finished task runs: their functions are not called again and downstream reads their results", async () => {
    fx = await backedFixture(FLOW);
    writeFileSync(join(fx.work, "fail-2"), "");
    const id = await fx.createRun();
    const firstTry = await runBackedFlowRun(fx.client, id, { warn: () => {} });
    expect(firstTry.state).toBe("Failed");
    let run = await readRun(fx.client, id);
    expect(taskStates(run)).toMatchObject({ "first-1": "Success", "times-1[0]": "Success", "times-1[1]": "Failed", "times-1[2]": "Success", "total-1": "TriggerFailed" });

    // An explicit re-run of what failed: the failed child and the reduce go back to Pending.
    const again = run.task_runs.filter((t) => t.state === "Failed" || t.state === "TriggerFailed").map((t) => t.id);
    await rerun(fx.client, id, again);
    rmSync(join(fx.work, "fail-2"));
    const secondTry = await runBackedFlowRun(fx.client, id, { warn: () => {} });
    expect(secondTry).toMatchObject({ status: "finished", state: "Success" });

    expect(calls(fx.work, "first")).toBe(1);
    expect(calls(fx.work, "times-1")).toBe(1);
    expect(calls(fx.work, "times-3")).toBe(1);
    expect(calls(fx.work, "times-2")).toBe(2);
    expect(calls(fx.work, "total")).toBe(1);
    run = await readRun(fx.client, id);
    expect(Object.values(taskStates(run)).every((s) => s === "Success" || s === "Mapped")).toBe(true);
    const total = run.task_runs.find((t) => t.task_slug === "total-1")!;
    expect(await Bun.file(total.serialized_state.result!.location).json()).toEqual({ value: 5 + 10 + 15 });
  });

  test("a re-run where only the first task had succeeded runs everything after it, but not it", async () => {
    fx = await backedFixture(FLOW);
    writeFileSync(join(fx.work, "fail-1"), "");
    writeFileSync(join(fx.work, "fail-2"), "");
    writeFileSync(join(fx.work, "fail-3"), "");
    const id = await fx.createRun();
    await runBackedFlowRun(fx.client, id, { warn: () => {} });
    // As Lazarus leaves it: the flow run Scheduled again, the failed task runs reset by the re-run.
    const run = await readRun(fx.client, id);
    await rerun(fx.client, id, run.task_runs.filter((t) => t.state !== "Success" && t.state !== "Mapped").map((t) => t.id));
    for (const k of [1, 2, 3]) rmSync(join(fx.work, `fail-${k}`));
    const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {} });
    expect(outcome.state).toBe("Success");
    expect(calls(fx.work, "first")).toBe(1);
    expect(calls(fx.work, "total")).toBe(1);
  });
});
