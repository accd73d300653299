import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { describeNonJson, findNonJson } from "../../src/core/json-value.ts";
import { Flow, LocalResult, task } from "../../src/index.ts";
import { backedFixture, readRun, type BackedFixture } from "../backed/helpers.ts";
import { runRecorded, tempDir, useTempHome } from "../helpers.ts";

useTempHome();

const where = (value: unknown) => {
  const found = findNonJson(value);
  return found && describeNonJson(found);
};

describe("which values JSON keeps", () => {
  test("plain data, Dates (by toJSON) and undefined properties pass; undefined as the whole value is stored as null", () => {
    for (const ok of [null, undefined, 0, -1.5, "", "x", true, [], {}, [1, "a", null, { b: [2] }], { a: undefined, b: 1 }, new Date(0), { when: new Date(0) }, Object.create(null)]) {
      expect(where(ok)).toBeUndefined();
    }
  });

  test("names what JSON would lose and where it sits", () => {
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    const shared = { n: 1 };
    class Point {
      constructor(readonly x: number) {}
    }
    expect(where(new Map([["a", 1]]))).toBe("a Map (the value itself)");
    expect(where({ data: new Map() })).toBe("a Map at .data");
    expect(where({ tags: new Set(["a"]) })).toBe("a Set at .tags");
    expect(where([1, NaN])).toBe("NaN at [1]");
    expect(where({ "odd key": [{ v: Infinity }] })).toBe('Infinity at ["odd key"][0].v');
    expect(where(-Infinity)).toBe("-Infinity (the value itself)");
    expect(where({ n: 10n })).toBe("a BigInt at .n");
    expect(where({ f: () => 1 })).toBe("a function at .f");
    expect(where(circular)).toBe("a circular reference at .self");
    expect(where({ a: shared, b: shared })).toBeUndefined(); // shared, not circular: JSON copies it
    expect(where([1, undefined])).toBe("undefined at [1]");
    expect(where([1, , 3])).toBe("an empty slot at [1]");
    expect(where({ e: new Error("boom") })).toBe("an Error at .e");
    expect(where({ bytes: new Uint8Array(2) })).toBe("a Uint8Array at .bytes");
    expect(where({ p: new Point(1) })).toBeUndefined(); // kept by its own properties, as JSON keeps it
    expect(where({ p: new Point(NaN) })).toBe("NaN at .p.x");
    expect(where({ r: /x/ })).toBe("a RegExp at .r");
    expect(where({ s: Symbol("s") })).toBe("a symbol at .s");
  });
});

describe("a task whose result JSON cannot keep", () => {
  test("in a local run, ends Failed naming the type and the path, and writes no file", async () => {
    const dir = tempDir();
    const maps = task({ name: "maps", result: new LocalResult({ dir }) }, () => ({ data: new Map([["a", 1]]) }));
    const nan = task({ name: "nan", result: new LocalResult({ dir }) }, () => [1, 0 / 0]);
    const fine = task({ name: "fine", result: new LocalResult({ dir }) }, () => ({ when: new Date(0), list: [1, 2] }));
    const nothing = task({ name: "nothing", result: new LocalResult({ dir }) }, () => undefined);
    const { state, reporter } = await runRecorded(
      new Flow("not-json", () => {
        maps();
        nan();
        fine();
        nothing();
      }),
    );
    expect(state.type).toBe("Failed");
    expect(reporter.typesOf("maps-1").at(-1)).toBe("Failed");
    expect(state.taskStates.get("maps-1")!.message).toContain("result of task 'maps-1' is not JSON: a Map at .data");
    expect(state.taskStates.get("nan-1")!.message).toContain("result of task 'nan-1' is not JSON: NaN at [1]");
    expect(state.taskStates.get("fine-1")!.type).toBe("Success");
    expect(state.taskStates.get("nothing-1")!.type).toBe("Success");
    expect(reporter.messages().some((m) => m.includes("could not persist its result: result of task 'maps-1' is not JSON"))).toBe(true);
    const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [e.name]));
    expect(files(dir)).toHaveLength(2); // fine and nothing only
  });

  test("without a result configured, a local run keeps the value in memory and does not check it", async () => {
    const loose = task({ name: "loose" }, () => new Set([1]));
    const { state } = await runRecorded(new Flow("in-memory", () => void loose()));
    expect(state.type).toBe("Success");
  });

  describe("in a backed run (every result is persisted)", () => {
    let fx: BackedFixture | undefined;
    afterEach(async () => {
      await fx?.close();
      fx = undefined;
    });

    test("the task run ends Failed with the message, and so does the flow run", async () => {
      fx = await backedFixture(`
import { Flow, Parameter, task } from "prefectlite";
const bad = task({ name: "bad" }, () => ({ ok: 1, nested: { when: 10n } }));
export const flow = new Flow("backed-not-json", () => { Parameter("dir"); bad(); });
`);
      const id = await fx.createRun();
      const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {}, heartbeatMs: 1000 });
      expect(outcome).toMatchObject({ status: "finished", state: "Failed" });
      const run = await readRun(fx.client, id);
      const bad = run.task_runs.find((t) => t.task_slug === "bad-1")!;
      expect(bad.state).toBe("Failed");
      expect(bad.serialized_state.message).toContain("result of task 'bad-1' is not JSON: a BigInt at .nested.when");
      expect(bad.serialized_state.result ?? null).toBeNull();
    });
  });
});
