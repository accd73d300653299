import { afterAll, beforeAll, expect, test } from "bun:test";
import { Flow, task } from "../../src/index.ts";
import { deferred, runRecorded } from "../helpers.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));

/** Let pending rejections surface: a few macrotask turns. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
};

test("failing, timed-out and late-rejecting tasks leave no promise unhandled", async () => {
  const late = deferred<never>();
  const timesOut = task({ name: "times_out", timeout: 5 }, () => late.promise);
  const throwsValue = task({ name: "throws_value" }, async () => {
    throw "a string, not an Error";
  });
  const rejects = task({ name: "rejects", maxRetries: 1 }, () => Promise.reject(new Error("nope")));
  const child = task({ name: "child" }, async (x: number) => {
    if (x > 0) throw new Error(`child ${x}`);
    return x;
  });
  const down = task({ name: "down" }, (_xs: number[]) => 1);
  const { state } = await runRecorded(
    new Flow("messy", () => {
      timesOut();
      throwsValue();
      rejects();
      down(child.map([0, 1, 2]));
    }),
  );
  expect(state.type).toBe("Failed");
  expect(state.taskStates.get("times_out-1")!.type).toBe("TimedOut");
  expect(state.taskStates.get("throws_value-1")!.message).toBe("Error during execution of task: a string, not an Error");
  // The timed-out task's promise rejects only now, after the run is over.
  late.reject(new Error("rejected after the timeout"));
  await settle();
  expect(unhandled).toEqual([]);
});
