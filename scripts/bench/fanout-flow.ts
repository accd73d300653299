/** The peers' fan-out workload: one run mapping a trivial task over 1,000 items, then a reduce. */
import { Flow, task } from "prefectlite";

const inc = task({ name: "inc" }, (x: number) => x + 1);
const total = task({ name: "total" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));

export const fanout = new Flow("fanout", () => {
  total(inc.map(Array.from({ length: 1000 }, (_, i) => i)));
});
