import { describe, expect, test } from "bun:test";
import { Flow, Parameter, task, unmapped, type Handle } from "../../src/index.ts";
import { resolveFlowParameters } from "../../src/engine/flow-runner.ts";
import { PrefectliteError } from "../../src/core/errors.ts";

const sayHello = task({ name: "say_hello" }, (n: string) => `Hello ${n}`);
const add = task({ name: "add" }, (a: number, b: number) => a + b);
function double(x: number) {
  return x * 2;
}
const namedFn = task(double);

describe("task slugs", () => {
  test("are <name>-<n>, counting instances of each name from 1; a parameter's slug is its name", () => {
    const flow = new Flow("slugs", () => {
      const who = Parameter("who", { default: "x" });
      sayHello(who);
      sayHello("b");
      const s = add(1, 2);
      add(s, 3);
      sayHello("c");
    });
    expect(flow.graph.nodes.map((n) => n.slug)).toEqual(["who", "say_hello-1", "say_hello-2", "add-1", "add-2", "say_hello-3"]);
  });

  test("a task's name defaults to its function's name; a nameless function is 'task'", () => {
    const anon = task((x: number) => x);
    const flow = new Flow("names", () => {
      namedFn(1);
      anon(1);
      anon(2);
    });
    expect(flow.graph.tasks.map((t) => t.slug)).toEqual(["double-1", "task-1", "task-2"]);
  });

  test("invalid names and options are refused when the task is defined", () => {
    expect(() => task({ name: "has space" }, () => 1)).toThrow("invalid task name 'has space'");
    expect(() => task({ maxRetries: -1 }, () => 1)).toThrow("maxRetries");
    expect(() => task({ retryDelay: "soon" }, () => 1)).toThrow("retryDelay");
  });

  test("the graph records data edges and after() ordering edges", () => {
    const flow = new Flow("edges", () => {
      const a = add(1, 2);
      const b = add(a, 10);
      sayHello.after(b)("z");
    });
    const g = flow.graph;
    expect(g.downstream.get("add-1")).toEqual(["add-2"]);
    expect(g.downstream.get("add-2")).toEqual(["say_hello-1"]);
    expect(g.referenceSlugs).toEqual(["say_hello-1"]);
  });
});

describe("calling tasks outside a flow", () => {
  test("throws a clear error; .fn runs the plain function", () => {
    expect(() => sayHello("x")).toThrow(/outside a flow's build function/);
    expect(() => Parameter("p")).toThrow(/outside a flow's build function/);
    expect(sayHello.fn("you")).toBe("Hello you");
  });

  test("a handle from another flow cannot be used", () => {
    let leaked: Handle<number> | undefined;
    const first = new Flow("first", () => {
      leaked = add(1, 1);
    });
    void first.graph;
    const second = new Flow("second", () => {
      add(leaked!, 1);
    });
    expect(() => second.graph).toThrow(/belongs to another flow/);
  });

  test("a flow needs a name and a build function", () => {
    expect(() => new Flow("", () => {})).toThrow(PrefectliteError);
    expect(() => new Flow("x", 3 as unknown as () => void)).toThrow("build function");
  });
});

describe("Parameter", () => {
  const flowWith = (build: () => void) => new Flow("params", build);

  test("without a default is required; with one is not", () => {
    const flow = flowWith(() => {
      Parameter<string>("needed");
      Parameter("optional", { default: "d" });
      Parameter("forced", { default: 1, required: true });
    });
    expect(flow.graph.parameters.map((p) => [p.slug, p.required, p.hasDefault])).toEqual([
      ["needed", true, false],
      ["optional", false, true],
      ["forced", true, true],
    ]);
  });

  test("falsy defaults 0, '' and false are values", () => {
    const flow = flowWith(() => {
      add(Parameter("zero", { default: 0 }), 1);
      sayHello(Parameter("empty", { default: "" }));
      Parameter("no", { default: false });
    });
    expect(flow.graph.parameters.every((p) => p.hasDefault && !p.required)).toBe(true);
    expect(resolveFlowParameters(flow)).toEqual({ zero: 0, empty: "", no: false });
    expect(resolveFlowParameters(flow, { zero: 5 })).toEqual({ zero: 5, empty: "", no: false });
  });

  test("a missing required parameter and an unknown name are refused with one line each", () => {
    const flow = flowWith(() => {
      sayHello(Parameter<string>("who"));
    });
    expect(() => resolveFlowParameters(flow)).toThrow("flow 'params' is missing required parameter 'who'");
    expect(() => resolveFlowParameters(flow, { who: "a", whom: "b" })).toThrow("flow 'params' has no parameter 'whom' (its parameters: who)");
    expect(resolveFlowParameters(flow, { who: "a" })).toEqual({ who: "a" });
  });

  test("two parameters with one name, or a bad name, are refused", () => {
    expect(() => flowWith(() => [Parameter("x", { default: 1 }), Parameter("x", { default: 2 })]).graph).toThrow("slug 'x'");
    expect(() => flowWith(() => Parameter("bad name", { default: 1 })).graph).toThrow("invalid parameter name");
  });
});

describe("mapping and reference tasks in the graph", () => {
  test(".map marks mapped arguments; unmapped() ones are passed whole", () => {
    const flow = new Flow("map", () => {
      add.map([1, 2], unmapped(10));
    });
    expect(flow.graph.tasks[0]!.mappedArgs).toEqual([true, false]);
    expect(flow.graph.tasks[0]!.args).toEqual([
      { kind: "constant", value: [1, 2] },
      { kind: "constant", value: 10 },
    ]);
  });

  test("reference tasks are given by task or by slug; unknown ones are refused", () => {
    const byTask = new Flow("r", () => [add(1, 2), sayHello("x")], { referenceTasks: [add] });
    expect(byTask.graph.referenceSlugs).toEqual(["add-1"]);
    const bySlug = new Flow("r", () => [add(1, 2), sayHello("x")], { referenceTasks: ["say_hello-1"] });
    expect(bySlug.graph.referenceSlugs).toEqual(["say_hello-1"]);
    const unknown = new Flow("r", () => add(1, 2), { referenceTasks: [sayHello] });
    expect(() => unknown.graph).toThrow("reference task 'say_hello' is not part of the flow");
  });
});

describe("handles inside constants", () => {
  test("a list holding handles is refused instead of being passed as a constant", () => {
    const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    const flow = new Flow("lists", () => {
      const a = add(1, 2);
      sum([a, 3] as unknown as number[]);
    });
    expect(() => flow.graph).toThrow("a list of task results cannot be passed as one argument");
  });
});
