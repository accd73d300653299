import { afterEach, describe, expect, test } from "bun:test";
import { BackendClient } from "../../src/client/client.ts";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { settings } from "../../src/settings.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, calls, readRun, taskStates, until, type BackedFixture } from "./helpers.ts";

const MANY = `
import { Flow, Parameter, task, context } from "prefectlite";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
const work = task({ name: "work" }, async (i: number) => {
  appendFileSync(join(context().parameters.dir as string, "work-" + i), "x");
  await Bun.sleep(1);
  return i;
});
const solo = task({ name: "solo" }, async () => {
  appendFileSync(join(context().parameters.dir as string, "solo"), "x");
  await Bun.sleep(1);
});
export const flow = new Flow("racy", () => {
  Parameter("dir");
  work.map(Array.from({ length: 40 }, (_, i) => i));
  solo();
});
`;

const LONG = `
import { Flow, Parameter, task, context } from "prefectlite";
const quick = task({ name: "quick" }, () => 1);
const long = task({ name: "long" }, async (x: number) => { await Bun.sleep(30_000); return x; });
const after = task({ name: "after" }, (x: number) => x);
export const flow = new Flow("long", () => {
  Parameter("dir");
  after(long(quick()));
});
`;

/** Quick synchronous tasks: on the embedded database nothing in such a run ever waits on I/O. */
const BUSY = `
import { Flow, Parameter, task } from "prefectlite";
const spin = task({ name: "spin" }, (i: number) => {
  const until = performance.now() + 2;
  while (performance.now() < until) {}
  return i;
});
export const flow = new Flow("busy", () => {
  Parameter("dir");
  spin.map(Array.from({ length: 3000 }, (_, i) => i));
});
`;

describe("backed runs racing and being cancelled", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  test("with version locking, two runners on one run: every task's function runs exactly once", async () => {
    fx = await backedFixture(MANY);
    await fx.client.graphql(`mutation ($input: enable_flow_version_lock_input!) { enable_flow_version_lock(input: $input) { success } }`, {
      input: { flow_id: fx.flowId },
    });
    const id = await fx.createRun();
    const other = new BackendClient(() => openEmbeddedBackend(settings.databaseUrl()));
    try {
      const outcomes = await Promise.all([
        runBackedFlowRun(fx.client, id, { warn: () => {}, batchSize: 7 }),
        runBackedFlowRun(other, id, { warn: () => {}, batchSize: 7 }),
      ]);
      for (const o of outcomes) expect(["finished"]).toContain(o.status);
    } finally {
      await other.close();
    }
    for (let i = 0; i < 40; i++) expect(calls(fx.work, `work-${i}`)).toBe(1);
    expect(calls(fx.work, "solo")).toBe(1);
    const run = await readRun(fx.client, id);
    const states = taskStates(run);
    expect(Object.keys(states)).toHaveLength(43);
    for (const [key, state] of Object.entries(states)) expect([key, state]).toEqual([key, key === "work-1" ? "Mapped" : "Success"]);
    expect(["Running", "Success"]).toContain(run.state);
  });

  test("cancel_flow_run stops a running run promptly: unfinished task runs end Cancelled, the run Cancelled", async () => {
    fx = await backedFixture(LONG);
    const id = await fx.createRun();
    const running = runBackedFlowRun(fx.client, id, { warn: () => {}, cancelPollMs: 50, cancelGraceMs: 100 });
    await until(async () => taskStates(await readRun(fx!.client, id))["long-1"] === "Running", "the long task to start");
    const { cancel_flow_run } = await fx.client.graphql<{ cancel_flow_run: { state: string } }>(
      `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`,
      { input: { flow_run_id: id } },
    );
    expect(cancel_flow_run.state).toBe("Cancelling");
    const outcome = await running;
    expect(outcome).toMatchObject({ status: "cancelled", state: "Cancelled" });
    const run = await readRun(fx.client, id);
    expect(run.state).toBe("Cancelled");
    expect(taskStates(run)).toEqual({ dir: "Success", "quick-1": "Success", "long-1": "Cancelled", "after-1": "Cancelled" });
  });

  test("a run of quick synchronous tasks in this process still beats and can be cancelled (the event loop gets turns)", async () => {
    fx = await backedFixture(BUSY);
    const id = await fx.createRun();
    // A timer of this process: it only fires if the run lets the event loop turn.
    const cancelled = new Promise<void>((resolve) => {
      setTimeout(() => {
        void fx!.client
          .graphql(`mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`, { input: { flow_run_id: id } })
          .then(() => resolve());
      }, 100);
    });
    const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {}, heartbeatMs: 10, cancelPollMs: 10, cancelGraceMs: 100 });
    await cancelled;
    expect(outcome).toMatchObject({ status: "cancelled", state: "Cancelled" });
    const run = await readRun(fx.client, id);
    const children = Object.entries(taskStates(run)).filter(([key]) => key.startsWith("spin-1["));
    expect(children.filter(([, state]) => state === "Success").length).toBeLessThan(3000);
    expect(children.some(([, state]) => state === "Cancelled")).toBe(true);
    // Heartbeats went on while it ran: the last one is later than the run's start.
    const running = run.states.find((s) => s.state === "Running")!;
    expect(Date.parse(run.heartbeat!)).toBeGreaterThan(Date.parse(running.timestamp));
  });

  test("a run cancelled before it started is not run", async () => {
    fx = await backedFixture(LONG);
    const id = await fx.createRun();
    await fx.client.graphql(`mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`, { input: { flow_run_id: id } });
    const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {} });
    expect(outcome).toMatchObject({ status: "already-finished", state: "Cancelled" });
    expect(taskStates(await readRun(fx.client, id))["quick-1"]).toBe("Cancelled");
  });
});
