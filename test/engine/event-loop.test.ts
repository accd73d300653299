import { describe, expect, test } from "bun:test";
import { TURN_EVERY_MS, turnIfDue } from "../../src/core/event-loop.ts";
import { Flow, task } from "../../src/index.ts";
import { runRecorded } from "../helpers.ts";

const spinFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
};

describe("letting the event loop turn", () => {
  test("turnIfDue: nothing to wait for until TURN_EVERY_MS went by, then one turn shared by every caller", async () => {
    // Start from a fresh turn.
    spinFor(TURN_EVERY_MS + 1);
    await turnIfDue();
    expect(turnIfDue()).toBeUndefined();
    spinFor(TURN_EVERY_MS + 1);
    const first = turnIfDue();
    expect(first).toBeInstanceOf(Promise);
    expect(turnIfDue()).toBe(first!);
    await first;
    expect(turnIfDue()).toBeUndefined();
  });

  test("a local run of quick synchronous tasks lets this process's timers run while it works", async () => {
    const spin = task({ name: "spin" }, (i: number) => {
      spinFor(2);
      return i;
    });
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    try {
      const { state } = await runRecorded(new Flow("busy", () => [spin.map(Array.from({ length: 150 }, (_, i) => i))]));
      expect(state.type).toBe("Success");
    } finally {
      clearInterval(interval);
    }
    // 150 × 2 ms of synchronous work: without turns the interval could not fire at all.
    expect(ticks).toBeGreaterThan(3);
  });
});
