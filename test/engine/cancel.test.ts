import { describe, expect, test } from "bun:test";
import { Flow, allFinished, task } from "../../src/index.ts";
import { Cancelled } from "../../src/core/state.ts";
import { finalTypes, runRecorded } from "../helpers.ts";

/** A chain a → b → c → d whose second task asks for the cancel (as the cancel flag would say it). */
function chain(onB: () => void, options: { trigger?: typeof allFinished } = {}) {
  const ran: string[] = [];
  const step = (name: string, then?: () => void) =>
    task({ name, ...(options.trigger && name === "d" ? { trigger: options.trigger } : {}) }, (x: number) => {
      ran.push(name);
      then?.();
      return x + 1;
    });
  const [a, b, c, d] = [step("a"), step("b", onB), step("c"), step("d")];
  return { ran, flow: new Flow("chain", () => d(c(b(a(0))))) };
}

describe("a run being cancelled", () => {
  test("no task run starts once cancelRequested() says so; the task under way keeps its Success; the rest end Cancelled, not TriggerFailed", async () => {
    let cancelled = false;
    const { ran, flow } = chain(() => (cancelled = true));
    const { state, reporter } = await runRecorded(flow, { cancelRequested: () => cancelled });
    expect(ran).toEqual(["a", "b"]);
    expect(finalTypes(state)).toEqual({ "a-1": "Success", "b-1": "Success", "c-1": "Cancelled", "d-1": "Cancelled" });
    expect(reporter.typesOf("b-1")).toEqual(["Running", "Success"]);
    expect(reporter.typesOf("c-1")).toEqual(["Cancelled"]);
    expect(state.taskStates.get("c-1")!.message).toBe("Flow run is cancelled: this task run never started.");
    expect(state.type).toBe("Cancelled");
    const messages = reporter.messages();
    expect(messages).toContain("Task 'c': Cancelled: this task run never started");
    expect(messages.filter((m) => m.startsWith("Task 'c': Starting") || m.startsWith("Task 'd': Starting"))).toEqual([]);
  });

  test("a task downstream of a cancelled one never starts, whatever its trigger", async () => {
    const { ran, flow } = chain(() => {}, { trigger: allFinished });
    const prior = new Map([["c-1", new Cancelled("Flow run is cancelled.")]]);
    const { state } = await runRecorded(flow, { priorStates: prior });
    expect(ran).toEqual(["a", "b"]);
    expect(finalTypes(state)["d-1"]).toBe("Cancelled");
    expect(state.taskStates.get("d-1")!.message).toBe("Flow run is cancelled: an upstream task run was cancelled, so this one never started.");
  });

  test("a mapped task not yet started when the cancel comes: its parent and no child run", async () => {
    let cancelled = false;
    const first = task({ name: "first" }, () => {
      cancelled = true;
      return [1, 2, 3];
    });
    const calls: number[] = [];
    const each = task({ name: "each" }, (x: number) => void calls.push(x));
    const { state } = await runRecorded(new Flow("map", () => each.map(first())), { cancelRequested: () => cancelled });
    expect(calls).toEqual([]);
    expect(finalTypes(state)).toEqual({ "first-1": "Success", "each-1": "Cancelled" });
  });

  test("a task waiting to retry is not retried once the run is being cancelled", async () => {
    let cancelled = false;
    let attempts = 0;
    const flaky = task({ name: "flaky", maxRetries: 3, retryDelay: 1 }, () => {
      attempts++;
      cancelled = true;
      throw new Error("no luck");
    });
    const { state, reporter } = await runRecorded(new Flow("retry", () => flaky()), { cancelRequested: () => cancelled });
    expect(attempts).toBe(1);
    expect(reporter.typesOf("flaky-1")).toEqual(["Running", "Cancelled"]);
    expect(state.taskStates.get("flaky-1")!.message).toBe("Flow run is cancelled: this task run is not retried.");
    expect(state.type).toBe("Cancelled");
  });
});

describe("a task under way when the cancel comes", () => {
  test("sees context().signal abort and context().cancelled turn true, and ends Cancelled, saying how it stopped", async () => {
    const { context } = await import("../../src/index.ts");
    const controller = new AbortController();
    const seen: boolean[] = [];
    const waits = task({ name: "waits" }, async () => {
      const ctx = context();
      seen.push(ctx.cancelled);
      await new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => (seen.push(ctx.cancelled), reject(new Error("stopped waiting"))), { once: true });
        setTimeout(() => controller.abort(), 5);
      });
    });
    const after = task({ name: "after" }, (_: unknown) => seen.push(context().cancelled));
    const { state } = await runRecorded(new Flow("waiting", () => after(waits())), { signal: controller.signal });
    expect(seen).toEqual([false, true]); // `after` never ran
    expect(finalTypes(state)).toEqual({ "waits-1": "Cancelled", "after-1": "Cancelled" });
    expect(state.taskStates.get("waits-1")!.message).toBe("Flow run is cancelled: this task run was stopped (Error during execution of task: stopped waiting).");
    expect(state.type).toBe("Cancelled");
  });
});
