/**
 * One measurement of the local engine, in its own process (so each starts cold and its peak RSS
 * is its own). Usage: bun scripts/bench/map-worker.ts flow|loop N [LOG_LEVEL]
 * Prints one JSON line: { mode, n, ms, maxRssMb, state }.
 *   flow: a flow mapping a trivial async task over N items, run by the local engine, its log
 *         records (at LOG_LEVEL) going to a sink that discards them;
 *   loop: a plain loop awaiting the same N async calls.
 */
import { Flow, task } from "../../src/index.ts";
import { memoryReporter, runFlow } from "../../src/engine/flow-runner.ts";
import { parseLogLevel } from "../../src/core/logging.ts";

const [mode = "flow", nText = "10000", levelText = "INFO"] = process.argv.slice(2);
const n = Number(nText);
const level = parseLogLevel(levelText);
if (!Number.isInteger(n) || n < 0 || !level || (mode !== "flow" && mode !== "loop")) {
  process.stderr.write("usage: map-worker.ts flow|loop N [DEBUG|INFO|WARNING|ERROR]\n");
  process.exit(2);
}

const increment = async (x: number) => x + 1;
const trivial = task({ name: "trivial" }, increment);

let state = "n/a";
const started = performance.now();
if (mode === "flow") {
  const items = Array.from({ length: n }, (_, i) => i);
  const flow = new Flow("bench-map", () => {
    trivial.map(items);
  });
  let discarded = 0;
  const final = await runFlow(flow, { logLevel: level, reporter: memoryReporter(() => void discarded++) });
  state = final.type;
} else {
  const items = Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (const x of items) out.push(await increment(x));
  state = out.length === n ? "Success" : "Failed";
}
const ms = performance.now() - started;
const maxRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ mode, n, level, ms, maxRssMb, state })}\n`);
