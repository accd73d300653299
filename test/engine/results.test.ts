import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Flow, LocalResult, Parameter, task } from "../../src/index.ts";
import { LocalResultStore, renderLocation } from "../../src/engine/result-store.ts";
import { runRecorded, tempDir, useTempHome } from "../helpers.ts";

const home = useTempHome();

describe("LocalResult", () => {
  test("a task with a result writes its value as JSON under $PREFECTLITE_HOME/results", async () => {
    const compute = task({ name: "compute", result: new LocalResult() }, (n: number) => ({ n, squares: [n * n] }));
    const plain = task({ name: "plain" }, () => 1);
    const flow = new Flow("persist", () => {
      compute(Parameter("n", { default: 3 }));
      plain();
    });
    const state = await flow.run({ quiet: true });
    expect(state.type).toBe("Success");
    const location = state.taskStates.get("compute-1")!.resultLocation!;
    expect(location.type).toBe("LocalResult");
    expect(location.location.startsWith(join(home(), "results") + "/")).toBe(true);
    expect(location.location).toMatch(/\/\d{4}\/\d{1,2}\/\d{1,2}\/[0-9a-f-]{36}\.prefect_result$/);
    expect(JSON.parse(readFileSync(location.location, "utf8"))).toEqual({ value: { n: 3, squares: [9] } });
    expect(state.taskStates.get("plain-1")!.resultLocation).toBeUndefined();
  });

  test("the flow's result applies to tasks that set none; mapped children write one file each, named by the template", async () => {
    const dir = tempDir();
    const inc = task({ name: "inc" }, (x: number) => x + 1);
    const flow = new Flow(
      "flow-result",
      () => {
        Parameter("who", { default: "ann" });
        inc.map([1, 2]);
      },
      { result: new LocalResult({ dir, location: "{flowName}/{taskSlug}-{mapIndex}-{who}.json" }) },
    );
    const { state } = await runRecorded(flow);
    expect(state.type).toBe("Success");
    const read = (name: string) => JSON.parse(readFileSync(join(dir, "flow-result", name), "utf8"));
    expect(read("inc-1-0-ann.json")).toEqual({ value: 2 });
    expect(read("inc-1-1-ann.json")).toEqual({ value: 3 });
    expect(state.taskStates.get("inc-1[1]")!.resultLocation!.location).toBe(join(dir, "flow-result/inc-1-1-ann.json"));
  });

  test("a result that cannot be written fails its task with a clear message", async () => {
    const dir = tempDir();
    const big = task({ name: "big", result: new LocalResult({ dir }) }, () => 10n);
    const escape = task({ name: "escape", result: new LocalResult({ dir, location: "../outside.json" }) }, () => 1);
    const typo = task({ name: "typo", result: new LocalResult({ dir, location: "{nope}.json" }) }, () => 1);
    const { state } = await runRecorded(
      new Flow("bad-results", () => {
        big();
        escape();
        typo();
      }),
    );
    expect(state.taskStates.get("big-1")!.message).toContain("result of task 'big-1' is not JSON: a BigInt (the value itself)");
    expect(state.taskStates.get("escape-1")!.message).toContain("leaves the result folder");
    expect(state.taskStates.get("typo-1")!.message).toContain("unknown placeholder {nope}");
    expect(existsSync(join(dir, "..", "outside.json"))).toBe(false);
    expect(state.type).toBe("Failed");
  });

  test("the store reads back what it wrote, and says so when the file is gone", async () => {
    const dir = tempDir();
    const store = new LocalResultStore(dir);
    const ctx = {
      flowName: "f",
      flowRunId: "run",
      flowRunName: "r",
      taskName: "t",
      taskSlug: "t-1",
      taskRunId: "tr",
      mapIndex: -1,
      parameters: { day: "mon/tue" },
    };
    const location = await store.write([1, "two", null], new LocalResult({ location: "{taskSlug}/{day}" }), ctx);
    expect(location.location).toBe(join(dir, "t-1/mon_tue"));
    expect(await store.read(location)).toEqual([1, "two", null]);
    expect(renderLocation("{today}", ctx)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await expect(store.read({ type: "LocalResult", location: join(dir, "missing") })).rejects.toThrow("no longer exists");
  });
});

describe("LocalResultStore folders", () => {
  test("a folder removed between two writes, by one store or the next run's, is made again", async () => {
    const dir = tempDir("prefectlite-results-");
    const store = new LocalResultStore(dir);
    const ctx = { flowName: "f", flowRunId: "r-id", flowRunName: "r", taskName: "t", taskSlug: "t-1", taskRunId: "t-id", mapIndex: -1, parameters: {} };
    const first = await store.write(1, new LocalResult({ location: "a/one.json" }), ctx);
    rmSync(join(dir, "a"), { recursive: true, force: true });
    const second = await store.write(2, new LocalResult({ location: "a/two.json" }), ctx);
    expect(JSON.parse(readFileSync(second.location, "utf8"))).toEqual({ value: 2 });
    expect(first.location).toBe(join(dir, "a/one.json"));
    // Another store (the next run in this process) finds it gone too.
    rmSync(join(dir, "a"), { recursive: true, force: true });
    const third = await new LocalResultStore(dir).write(3, new LocalResult({ location: "a/three.json" }), ctx);
    expect(JSON.parse(readFileSync(third.location, "utf8"))).toEqual({ value: 3 });
  });

  test("many results written at once into a new folder all land; a file where the folder should be fails the write until it is gone", async () => {
    const dir = tempDir("prefectlite-results-");
    const store = new LocalResultStore(dir);
    const ctx = { flowName: "f", flowRunId: "r-id", flowRunName: "r", taskName: "t", taskSlug: "t-1", taskRunId: "t-id", mapIndex: -1, parameters: {} };
    const written = await Promise.all(Array.from({ length: 200 }, (_, i) => store.write(i, new LocalResult({ location: `many/${i}.json` }), ctx)));
    expect(written.map((w) => JSON.parse(readFileSync(w.location, "utf8")).value)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    writeFileSync(join(dir, "blocked"), "a file where a folder should be");
    await expect(store.write(1, new LocalResult({ location: "blocked/one.json" }), ctx)).rejects.toThrow();
    rmSync(join(dir, "blocked"));
    const after = await store.write(2, new LocalResult({ location: "blocked/two.json" }), ctx);
    expect(JSON.parse(readFileSync(after.location, "utf8"))).toEqual({ value: 2 });
  });

  test("a folder that cannot be made fails the write naming that folder, not only the missing file", async () => {
    const dir = tempDir("prefectlite-results-");
    symlinkSync(join(dir, "nowhere", "at-all"), join(dir, "dangling"));
    const ctx = { flowName: "f", flowRunId: "r-id", flowRunName: "r", taskName: "t", taskSlug: "t-1", taskRunId: "t-id", mapIndex: -1, parameters: {} };
    const failed = new LocalResultStore(dir).write(1, new LocalResult({ location: "dangling/sub/one.json" }), ctx);
    await expect(failed).rejects.toThrow(`mkdir '${join(dir, "dangling", "sub")}'`);
  });
});
