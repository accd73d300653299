import { describe, expect, test } from "bun:test";
import { Flow, Parameter, task, unmapped } from "../../src/index.ts";
import { deferred, finalTypes, runRecorded } from "../helpers.ts";

describe("the local runner", () => {
  test("runs independent async tasks concurrently: each awaits what the other one provides", async () => {
    const fromA = deferred<string>();
    const fromB = deferred<string>();
    // Sequential execution would leave the first of them waiting forever: the timeout turns that into TimedOut.
    const a = task({ name: "a", timeout: 2000 }, async () => {
      fromA.resolve("a");
      return `a saw ${await fromB.promise}`;
    });
    const b = task({ name: "b", timeout: 2000 }, async () => {
      fromB.resolve("b");
      return `b saw ${await fromA.promise}`;
    });
    const both = task({ name: "both" }, (x: string, y: string) => [x, y]);
    let seen: string[] = [];
    const record = task({ name: "record" }, (v: string[]) => {
      seen = v;
    });
    const flow = new Flow("overlap", () => {
      record(both(a(), b()));
    });
    const { state } = await runRecorded(flow);
    expect(finalTypes(state)).toEqual({ "a-1": "Success", "b-1": "Success", "both-1": "Success", "record-1": "Success" });
    expect(seen).toEqual(["a saw b", "b saw a"]);
    expect(state.type).toBe("Success");
  });

  test("a task starts only after all its upstream tasks finished, and receives their results", async () => {
    const events: string[] = [];
    const gate = deferred();
    const slow = task({ name: "slow" }, async () => {
      events.push("slow:start");
      await gate.promise;
      events.push("slow:end");
      return 2;
    });
    const fast = task({ name: "fast" }, () => {
      events.push("fast");
      gate.resolve();
      return 3;
    });
    const mul = task({ name: "mul" }, (x: number, y: number) => {
      events.push("mul");
      return x * y;
    });
    const last = task({ name: "last" }, () => events.push("last"));
    let product = 0;
    const keep = task({ name: "keep" }, (p: number) => {
      product = p;
    });
    const flow = new Flow("deps", () => {
      const m = mul(slow(), fast());
      keep(m);
      last.after(m)();
    });
    const { state } = await runRecorded(flow);
    expect(state.type).toBe("Success");
    expect(product).toBe(6);
    expect(events.indexOf("mul")).toBeGreaterThan(events.indexOf("slow:end"));
    expect(events.indexOf("mul")).toBeGreaterThan(events.indexOf("fast"));
    expect(events.indexOf("last")).toBeGreaterThan(events.indexOf("mul"));
  });

  test("parameters reach tasks; the run uses defaults under given values", async () => {
    const seen: unknown[] = [];
    const show = task({ name: "show" }, (x: unknown) => void seen.push(x));
    const flow = new Flow("params", () => {
      show(Parameter("n", { default: 0 }));
      show(Parameter("s", { default: "" }));
      show(Parameter("b", { default: false }));
    });
    await runRecorded(flow, { parameters: { s: "given" } });
    expect(seen.sort()).toEqual([0, false, "given"].sort());
  });

  test("wrong parameters throw before anything runs", async () => {
    const flow = new Flow("p", () => Parameter<number>("n"));
    await expect(runRecorded(flow)).rejects.toThrow("missing required parameter 'n'");
    await expect(runRecorded(flow, { parameters: { n: 1, m: 2 } })).rejects.toThrow("has no parameter 'm'");
  });
});

describe("mapping", () => {
  const inc = task({ name: "inc" }, async (x: number) => x + 1);
  const addTo = task({ name: "add_to" }, (x: number, y: number) => x + y);
  const range = task({ name: "range" }, (n: number) => Array.from({ length: n }, (_, i) => i));
  const collect = (into: { value?: unknown }) => task({ name: "collect" }, (xs: number[]) => void (into.value = xs));

  test("over a constant list: children 0…n-1 succeed, the parent is Mapped and its result is their list", async () => {
    const out: { value?: unknown } = {};
    const flow = new Flow("map-list", () => {
      collect(out)(inc.map([10, 20, 30]));
    });
    const { state, reporter } = await runRecorded(flow);
    expect(finalTypes(state)).toEqual({
      "inc-1": "Mapped",
      "inc-1[0]": "Success",
      "inc-1[1]": "Success",
      "inc-1[2]": "Success",
      "collect-1": "Success",
    });
    expect(out.value).toEqual([11, 21, 31]);
    expect(state.taskStates.get("inc-1")!.nMapStates).toBe(3);
    expect(reporter.typesOf("inc-1[1]")).toEqual(["Running", "Success"]);
    expect(state.type).toBe("Success");
  });

  test("over an upstream handle, with unmapped() arguments passed whole", async () => {
    const out: { value?: unknown } = {};
    const flow = new Flow("map-handle", () => {
      collect(out)(addTo.map(range(Parameter("n", { default: 4 })), unmapped(100)));
    });
    const { state } = await runRecorded(flow);
    expect(out.value).toEqual([100, 101, 102, 103]);
    expect(Object.keys(finalTypes(state)).filter((k) => k.startsWith("add_to-1["))).toHaveLength(4);
  });

  test("over a mapped upstream: child i feeds child i", async () => {
    const out: { value?: unknown } = {};
    const flow = new Flow("map-map", () => {
      collect(out)(addTo.map(inc.map([1, 2, 3]), unmapped(inc(0))));
    });
    const { state } = await runRecorded(flow);
    expect(out.value).toEqual([3, 4, 5]);
    expect(finalTypes(state)["add_to-1"]).toBe("Mapped");
  });

  test("over an empty list: no children, and the parent's result is []", async () => {
    const out: { value?: unknown } = {};
    const flow = new Flow("map-empty", () => {
      collect(out)(inc.map([]));
    });
    const { state } = await runRecorded(flow);
    expect(out.value).toEqual([]);
    expect(finalTypes(state)).toEqual({ "inc-1": "Mapped", "collect-1": "Success" });
  });

  test("a failed child fails the reduce downstream (TriggerFailed) and the flow", async () => {
    const picky = task({ name: "picky" }, (x: number) => {
      if (x === 2) throw new Error("two is bad");
      return x;
    });
    const flow = new Flow("map-fail", () => {
      collect({})(picky.map([1, 2, 3]));
    });
    const { state } = await runRecorded(flow);
    expect(finalTypes(state)).toEqual({
      "picky-1": "Mapped",
      "picky-1[0]": "Success",
      "picky-1[1]": "Failed",
      "picky-1[2]": "Success",
      "collect-1": "TriggerFailed",
    });
    expect(state.taskStates.get("picky-1[1]")!.message).toContain("two is bad");
    expect(state.type).toBe("Failed");
  });

  test("mapping over something that is not a list fails the task with a clear message", async () => {
    const notList = task({ name: "not_list" }, () => 5 as unknown as number[]);
    const flow = new Flow("map-bad", () => {
      inc.map(notList());
    });
    const { state } = await runRecorded(flow);
    expect(state.taskStates.get("inc-1")!.type).toBe("Failed");
    expect(state.taskStates.get("inc-1")!.message).toContain("it is not a list");
  });
});
