/**
 * The SDK's typing promises, checked by `tsc --noEmit` (npm test runs it): every line marked
 * `@ts-expect-error` must fail to type-check, and every other line must compile. If a wrong
 * call ever starts compiling, tsc reports the unused `@ts-expect-error` and npm test fails.
 */
import { expect, test } from "bun:test";
import { Flow, Parameter, task, unmapped, type Handle } from "../../src/index.ts";

const upper = task({ name: "upper" }, (s: string) => s.toUpperCase());
const inc = task({ name: "inc" }, async (x: number) => x + 1);
const join = task({ name: "join" }, (xs: string[], sep: string) => xs.join(sep));
const numbers = task({ name: "numbers" }, (): number[] => [1, 2, 3]);

function wellTyped() {
  const name = Parameter("name", { default: "world" });
  const count: Handle<number> = Parameter<number>("count");
  const shout: Handle<string> = upper(name);
  const next: Handle<number> = inc(count);
  inc(inc(1));
  upper(shout);
  const incremented: Handle<number[]> = inc.map([1, 2, 3]);
  inc.map(numbers());
  inc.map(incremented);
  join(upper.map(["a", "b"]), ",");
  join.map([["a"], ["b"]], unmapped(", "));
  return next;
}

function badlyTyped() {
  const count = Parameter<number>("count");
  // @ts-expect-error a Handle<number> where the task expects a string
  upper(count);
  // @ts-expect-error a number constant where the task expects a string
  upper(42);
  // @ts-expect-error an async task's handle carries its awaited type (number), not string
  upper(inc(1));
  // @ts-expect-error too many arguments
  upper("a", "b");
  // @ts-expect-error .map() over a list of the wrong element type
  inc.map(["a", "b"]);
  // @ts-expect-error .map() over a handle to a list of the wrong element type
  upper.map(numbers());
  // @ts-expect-error .map() over a single value instead of a list
  inc.map(3);
  // @ts-expect-error unmapped() of the wrong type
  join.map([["a"]], unmapped(1));
  // @ts-expect-error a mapped result is a list, not one value
  inc(inc.map([1]));
}

test("well-typed calls build a flow (the type checks above are what tsc --noEmit verifies)", () => {
  const flow = new Flow("typed", wellTyped);
  expect(flow.graph.tasks.length).toBe(12);
  expect(typeof badlyTyped).toBe("function");
});
