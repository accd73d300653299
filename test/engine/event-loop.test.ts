import { describe, expect, test } from "bun:test";
import { TURN_EVERY_MS, turnIfDue } from "../../src/core/event-loop.ts";
import { Flow, task } from "../../src/index.ts";
import { runRecorded } from "../helpers.ts";

const spinFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
};

describe("letting the event loop turn", () => {
  test("turnIfDue: nothing to wait for until TURN_EVERY_MS went by; then callers wait for a turn and go one at a time", async () => {
    spinFor(TURN_EVERY_MS + 1);
    await turnIfDue();
    await Promise.resolve(); // the turn has let everyone go
    expect(turnIfDue()).toBeUndefined();
    spinFor(TURN_EVERY_MS + 1);
    const order: number[] = [];
    let loopTurned = false;
    setImmediate(() => (loopTurned = true)); // queued before the callers wait: runs first if the loop turns
    const callers = [0, 1, 2].map(async (i) => {
      const turn = turnIfDue();
      expect(turn).toBeInstanceOf(Promise);
      await turn;
      expect(loopTurned).toBe(true);
      order.push(i);
    });
    // A caller that never comes back for its go holds nobody up.
    void turnIfDue();
    await Promise.all(callers);
    expect(order).toEqual([0, 1, 2]);
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
