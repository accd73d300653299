/** Map a task over a list, then reduce: the children run concurrently; `total` gets their list. */
import { Flow, LocalResult, Parameter, task } from "prefectlite";

const numbers = task({ name: "numbers" }, (n: number) => Array.from({ length: n }, (_, i) => i));

const square = task({ name: "square", maxRetries: 2, retryDelay: "1s" }, async (x: number) => x * x);

const total = task({ name: "total", result: new LocalResult() }, (squares: number[]) => squares.reduce((a, b) => a + b, 0));

export const flow = new Flow("map-reduce", () => {
  const n = Parameter("n", { default: 10 });
  total(square.map(numbers(n)));
});
