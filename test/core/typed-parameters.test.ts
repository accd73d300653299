import { describe, expect, test } from "bun:test";
import { Flow, Parameter, task, type Handle } from "../../src/index.ts";
import { resolveFlowParameters } from "../../src/engine/flow-runner.ts";
import { parameterFromText } from "../../src/core/parameter-types.ts";
import { serializeFlow } from "../../src/core/serialize.ts";

const use = task({ name: "use" }, (...values: unknown[]) => values.length);

function flowWith(build: () => Handle<unknown>[]): Flow {
  return new Flow("typed", () => void use(...build()));
}

describe("a parameter's type", () => {
  test("comes from its default, or from `type`; a parameter with neither is untyped and serializes no type", () => {
    const flow = flowWith(() => [
      Parameter("n", { default: 5 }),
      Parameter("name", { default: "x" }),
      Parameter("flag", { default: false }),
      Parameter("xs", { default: [1] }),
      Parameter("opts", { default: { a: 1 } }),
      Parameter("count", { type: "integer" }),
      Parameter("free"),
    ]);
    const types = Object.fromEntries(serializeFlow(flow).parameters.map((p) => [p.name, p.type]));
    expect(types).toEqual({ n: "number", name: "string", flag: "boolean", xs: "array", opts: "object", count: "integer", free: undefined });
    expect("type" in serializeFlow(flow).parameters.find((p) => p.name === "free")!).toBe(false);
  });

  test("a declared type the default does not fit, or an unknown type name, is refused when the flow is built", () => {
    const wrongDefault = flowWith(() => [Parameter("n", { type: "number", default: "five" as unknown as number })]);
    expect(() => wrongDefault.graph).toThrow(`flow 'typed': the default of parameter 'n' must be a number (got "five")`);
    const unknownType = flowWith(() => [Parameter("n", { type: "float" as "number" })]);
    expect(() => unknownType.graph).toThrow(/type must be one of string, number, integer, boolean, object, array, any \(got "float"\)/);
  });
});

describe("running with parameter values", () => {
  const flow = flowWith(() => [Parameter("n", { default: 5 }), Parameter("size", { type: "integer", required: false }), Parameter("free", { default: null })]);

  test("a value of the wrong type is refused with one line naming the parameter, the type and the value", () => {
    expect(() => resolveFlowParameters(flow, { n: "abc" })).toThrow(`parameter 'n' must be a number (got "abc")`);
    expect(() => resolveFlowParameters(flow, { size: 2.5 })).toThrow(`parameter 'size' must be an integer (got 2.5)`);
    expect(() => resolveFlowParameters(flow, { n: null })).toThrow(`parameter 'n' must be a number (got null)`);
  });

  test("values of the right type pass, and an untyped parameter takes anything", () => {
    expect(resolveFlowParameters(flow, { n: 2.5, size: 3, free: { any: ["thing"] } })).toEqual({ n: 2.5, size: 3, free: { any: ["thing"] } });
  });

  test("text from a command line stays text for a string parameter and is read as JSON otherwise", () => {
    expect(parameterFromText("string", "5")).toBe("5");
    expect(parameterFromText("number", "5")).toBe(5);
    expect(parameterFromText("number", "abc")).toBe("abc");
    expect(parameterFromText(undefined, "[1]")).toEqual([1]);
  });
});

// Checked by tsc (npm test): the handle's type follows the declared type.
export function typingOfDeclaredParameters() {
  const count: Handle<number> = Parameter("count", { type: "integer" });
  const name: Handle<string> = Parameter("name", { type: "string", default: "x" });
  const n: Handle<number> = Parameter("n", { default: 5 });
  // @ts-expect-error a string parameter's handle is not a Handle<number>
  const wrong: Handle<number> = Parameter("s", { type: "string" });
  // @ts-expect-error the default must fit the declared type
  Parameter("m", { type: "number", default: "five" });
  return [count, name, n, wrong];
}
