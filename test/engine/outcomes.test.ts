import { describe, expect, test } from "bun:test";
import { FAIL, Flow, RETRY, SKIP, allFailed, allFinished, anyFailed, anySuccessful, task } from "../../src/index.ts";
import { finalTypes, runRecorded } from "../helpers.ts";

const ok = task({ name: "ok" }, () => "fine");
const boom = task({ name: "boom" }, (): string => {
  throw new Error("kaboom");
});

describe("retries", () => {
  test("a task that fails twice then succeeds goes Running → Retrying twice, then Success", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky", maxRetries: 2, retryDelay: 5 }, () => {
      calls++;
      if (calls < 3) throw new Error(`attempt ${calls} failed`);
      return calls;
    });
    const { state, reporter } = await runRecorded(new Flow("retry-ok", () => flaky()));
    expect(reporter.typesOf("flaky-1")).toEqual(["Running", "Retrying", "Running", "Retrying", "Running", "Success"]);
    const retrying = reporter.taskStates.get("flaky-1")![1]!;
    expect(retrying.message).toContain("attempt 1 failed");
    expect(retrying.runCount).toBe(1);
    expect(state.type).toBe("Success");
  });

  test("when retries run out the task ends Failed with the last error", async () => {
    let calls = 0;
    const always = task({ name: "always", maxRetries: 1, retryDelay: "1ms" }, () => {
      throw new Error(`failure ${++calls}`);
    });
    const { state, reporter } = await runRecorded(new Flow("retry-fail", () => always()));
    expect(reporter.typesOf("always-1")).toEqual(["Running", "Retrying", "Running", "Failed"]);
    expect(state.taskStates.get("always-1")!.message).toBe("Error during execution of task: failure 2");
    expect(calls).toBe(2);
    expect(state.type).toBe("Failed");
  });

  test("the clock decides the retry wait: an injected clock's sleep is used", async () => {
    const sleeps: number[] = [];
    let now = 1_000_000;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    };
    let calls = 0;
    const flaky = task({ name: "flaky", maxRetries: 1, retryDelay: "5m" }, () => {
      if (++calls === 1) throw new Error("first");
    });
    const { state } = await runRecorded(new Flow("clock", () => flaky()), { clock });
    expect(state.type).toBe("Success");
    expect(sleeps).toEqual([300_000]);
  });
});

describe("signals", () => {
  test("RETRY asks for a retry even without maxRetries", async () => {
    let calls = 0;
    const again = task({ name: "again" }, () => {
      if (++calls === 1) throw new RETRY("not yet");
      return "done";
    });
    const { state, reporter } = await runRecorded(new Flow("sig-retry", () => again()));
    expect(reporter.typesOf("again-1")).toEqual(["Running", "Retrying", "Running", "Success"]);
    expect(reporter.taskStates.get("again-1")![1]!.message).toBe("not yet");
    expect(state.type).toBe("Success");
  });

  test("FAIL ends the task Failed with its message", async () => {
    const no = task({ name: "no" }, () => {
      throw new FAIL("refused");
    });
    const { state } = await runRecorded(new Flow("sig-fail", () => no()));
    expect(state.taskStates.get("no-1")!.type).toBe("Failed");
    expect(state.taskStates.get("no-1")!.message).toBe("refused");
    expect(state.type).toBe("Failed");
  });

  test("SKIP ends the task Skipped and its downstream skips too; the flow still succeeds", async () => {
    const skipper = task({ name: "skipper" }, (): number => {
      throw new SKIP("nothing to do");
    });
    const after = task({ name: "after" }, (x: number) => x);
    const stubborn = task({ name: "stubborn", skipOnUpstreamSkip: false }, (x: number) => `ran with ${x}`);
    let stubbornSaw: unknown = "never ran";
    const spy = task({ name: "spy" }, (s: string) => void (stubbornSaw = s));
    const { state } = await runRecorded(
      new Flow("sig-skip", () => {
        const s = skipper();
        after(s);
        spy(stubborn(s));
      }),
    );
    expect(finalTypes(state)).toEqual({
      "skipper-1": "Skipped",
      "after-1": "Skipped",
      "stubborn-1": "Success",
      "spy-1": "Success",
    });
    expect(state.taskStates.get("skipper-1")!.message).toBe("nothing to do");
    expect(stubbornSaw).toBe("ran with undefined");
    expect(state.type).toBe("Success");
  });
});

describe("timeouts", () => {
  test("a task that runs past its timeout ends TimedOut and fails the flow", async () => {
    const hang = task({ name: "hang", timeout: 10 }, () => new Promise<never>(() => {}));
    const { state } = await runRecorded(new Flow("timeout", () => hang()));
    expect(state.taskStates.get("hang-1")!.type).toBe("TimedOut");
    expect(state.taskStates.get("hang-1")!.isFailed()).toBe(true);
    expect(state.type).toBe("Failed");
  });

  test("a timed-out task with retries is retried, then TimedOut", async () => {
    const hang = task({ name: "hang", timeout: "5ms", maxRetries: 1, retryDelay: 1 }, () => new Promise<never>(() => {}));
    const { reporter } = await runRecorded(new Flow("timeout-retry", () => hang()));
    expect(reporter.typesOf("hang-1")).toEqual(["Running", "Retrying", "Running", "TimedOut"]);
  });
});

describe("upstream failure and triggers", () => {
  test("a failed upstream makes the downstream TriggerFailed, transitively", async () => {
    const use = task({ name: "use" }, (s: string) => s);
    const { state } = await runRecorded(new Flow("tf", () => use(use(boom()))));
    expect(finalTypes(state)).toEqual({ "boom-1": "Failed", "use-1": "TriggerFailed", "use-2": "TriggerFailed" });
    expect(state.taskStates.get("boom-1")!.message).toBe("Error during execution of task: kaboom");
    expect(state.type).toBe("Failed");
  });

  test("allFinished runs after a failure; anyFailed only when something failed", async () => {
    const cleanup = task({ name: "cleanup", trigger: allFinished }, () => "cleaned");
    const onError = task({ name: "on_error", trigger: anyFailed }, () => "handled");
    const { state } = await runRecorded(
      new Flow("triggers", () => {
        const good = ok();
        const bad = boom();
        cleanup.after(good, bad)();
        onError.after(bad)();
        onError.after(good)();
      }),
    );
    expect(finalTypes(state)).toEqual({
      "ok-1": "Success",
      "boom-1": "Failed",
      "cleanup-1": "Success",
      "on_error-1": "Success",
      "on_error-2": "TriggerFailed",
    });
  });

  test("anySuccessful and allFailed", async () => {
    const some = task({ name: "some", trigger: anySuccessful }, () => 1);
    const all = task({ name: "all", trigger: allFailed }, () => 1);
    const { state } = await runRecorded(
      new Flow("triggers2", () => {
        const good = ok();
        const bad = boom();
        const bad2 = boom();
        some.after(good, bad)();
        some.after(bad, bad2)();
        all.after(bad, bad2)();
        all.after(good, bad)();
      }),
    );
    const t = finalTypes(state);
    expect([t["some-1"], t["some-2"], t["all-1"], t["all-2"]]).toEqual(["Success", "TriggerFailed", "Success", "TriggerFailed"]);
  });
});

describe("the flow's final state", () => {
  test("by default the terminal tasks decide: a handled failure upstream still succeeds", async () => {
    const cleanup = task({ name: "cleanup", trigger: allFinished }, () => "ok");
    const { state } = await runRecorded(new Flow("terminal", () => cleanup.after(boom())()));
    expect(finalTypes(state)).toEqual({ "boom-1": "Failed", "cleanup-1": "Success" });
    expect(state.type).toBe("Success");
    expect(state.message).toBe("All reference tasks succeeded.");
  });

  test("reference tasks decide when given", async () => {
    const build = () => {
      ok();
      boom();
    };
    const okOnly = await runRecorded(new Flow("refs", build, { referenceTasks: [ok] }));
    expect(okOnly.state.type).toBe("Success");
    const withBoom = await runRecorded(new Flow("refs", build, { referenceTasks: ["ok-1", "boom-1"] }));
    expect(withBoom.state.type).toBe("Failed");
    expect(withBoom.state.message).toBe("Some reference tasks failed.");
  });

  test("the flow run reports Running, then its final state; logs begin and end the run", async () => {
    const { state, reporter } = await runRecorded(new Flow("states", () => ok()));
    expect(reporter.flowStates.map((s) => s.type)).toEqual(["Running", "Success"]);
    expect(state.timestamp).toBeString();
    const messages = reporter.messages();
    expect(messages[0]).toBe("Beginning Flow run for 'states'");
    expect(messages.at(-1)).toBe("Flow run SUCCESS: all reference tasks succeeded");
  });

  test("an aborted run ends Cancelled; its unstarted tasks are Cancelled", async () => {
    const controller = new AbortController();
    const stop = task({ name: "stop" }, () => controller.abort());
    const next = task({ name: "next" }, () => 1);
    const { state } = await runRecorded(new Flow("cancel", () => next.after(stop())()), { signal: controller.signal });
    expect(finalTypes(state)).toEqual({ "stop-1": "Success", "next-1": "Cancelled" });
    expect(state.type).toBe("Cancelled");
  });
});
