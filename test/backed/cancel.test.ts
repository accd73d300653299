import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, calls, readRun, until, type BackedFixture, type Mode } from "./helpers.ts";

/** A chain of five tasks, each counting its calls; the second waits until the test drops a "release" file. */
const CHAIN = `
import { Flow, Parameter, task, context } from "prefectlite";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
const file = (name: string) => join(context().parameters.dir as string, name);
const step = (n: number) => task({ name: "t" + n }, async (x: number) => {
  appendFileSync(file("t" + n), "x");
  if (n === 2) while (!existsSync(file("release"))) await Bun.sleep(5);
  return x + 1;
});
const [t1, t2, t3, t4, t5] = [1, 2, 3, 4, 5].map(step);
export const flow = new Flow("chain", () => {
  Parameter("dir");
  t5!(t4!(t3!(t2!(t1!(0)))));
});
`;

/**
 * The same chain, its second task synchronous: it cancels its own run from another process
 * (\`prefectlite cancel\`, so the run's thread never turns meanwhile), then computes on until
 * its context says the run is cancelled, and returns.
 */
const SYNC_CHAIN = `
import { Flow, Parameter, task, context } from "prefectlite";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
const file = (name: string) => join(context().parameters.dir as string, name);
const step = (n: number) => task({ name: "t" + n }, (x: number) => {
  appendFileSync(file("t" + n), "x");
  if (n === 2) {
    const cancel = Bun.spawnSync([process.execPath, context().parameters.main as string, "cancel", context().flowRunId, "--wait", "0"], { env: { ...process.env } });
    appendFileSync(file("cancel-output"), cancel.stdout.toString() + cancel.stderr.toString());
    // Computing on: the run's thread never turns, yet context().cancelled becomes true (the deadline is a safety net).
    const deadline = performance.now() + 20_000;
    while (!context().cancelled && performance.now() < deadline) {}
    appendFileSync(file("seen"), String(context().cancelled));
  }
  return x + 1;
});
const [t1, t2, t3, t4, t5] = [1, 2, 3, 4, 5].map(step);
export const flow = new Flow("sync-chain", () => {
  Parameter("dir");
  Parameter("main");
  t5!(t4!(t3!(t2!(t1!(0)))));
});
`;

interface TaskHistory {
  task_slug: string;
  state: string;
  start_time: string | null;
  serialized_state: { message?: string };
  states: Array<{ state: string }>;
}

async function histories(fx: BackedFixture, id: string): Promise<Record<string, TaskHistory>> {
  const data = await fx.client.graphql<{ flow_run_by_pk: { task_runs: TaskHistory[] } }>(
    `query ($id: uuid!) { flow_run_by_pk(id: $id) {
      task_runs(limit: 50) { task_slug state start_time serialized_state states(order_by: { version: asc }, limit: 20) { state } }
    } }`,
    { id },
  );
  return Object.fromEntries(data.flow_run_by_pk.task_runs.map((t) => [t.task_slug, t]));
}

const cancel = (fx: BackedFixture, id: string) =>
  fx.client.graphql<{ cancel_flow_run: { state: string } }>(`mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`, {
    input: { flow_run_id: id },
  });

const MAIN = join(import.meta.dir, "../../src/main.ts");

/** What the record must say after a cancel during task 2 that task 2 outlived. */
async function expectTask2KeptTheRestCancelled(fx: BackedFixture, id: string): Promise<void> {
  expect(calls(fx.work, "t3")).toBe(0);
  const run = await readRun(fx.client, id);
  expect(run.state).toBe("Cancelled");
  const tasks = await histories(fx, id);
  expect(tasks["t2-1"]!.state).toBe("Success");
  expect(tasks["t2-1"]!.states.map((s) => s.state)).toEqual(["Pending", "Running", "Success"]);
  expect(tasks["t2-1"]!.start_time).not.toBeNull();
  for (const slug of ["t3-1", "t4-1", "t5-1"]) {
    expect([slug, tasks[slug]!.states.map((s) => s.state)]).toEqual([slug, ["Pending", "Cancelled"]]);
    expect(tasks[slug]!.start_time).toBeNull();
  }
  expect(tasks["t3-1"]!.serialized_state.message).toBe("Flow run is cancelled: this task run never started.");
  // The log tells what the record says: task 2 finished Success, the others were never started.
  const messages = run.logs.map((l) => l.message);
  expect(messages).toContain("Task 't2': Finished task run for task with final state: 'Success'");
  expect(messages.filter((m) => /Task 't[345]': Starting/.test(m))).toEqual([]);
  expect(messages).toContain("Task 't3': Cancelled: this task run never started");
  expect(messages.some((m) => m.includes("TriggerFailed"))).toBe(false);
}

describe("cancelling a backed run", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  const variants: Array<{ mode: Mode; locked: boolean }> = [
    { mode: "embedded", locked: false },
    { mode: "http", locked: false },
    { mode: "embedded", locked: true },
  ];
  for (const { mode, locked } of variants) {
    test(`${mode}${locked ? ", version locking" : ""}: a cancel during task 2 of a chain: task 3 never starts, task 2 keeps its Success (with its Running), the rest end Cancelled`, async () => {
      fx = await backedFixture(CHAIN, { mode });
      if (locked) {
        await fx.client.graphql(`mutation ($input: enable_flow_version_lock_input!) { enable_flow_version_lock(input: $input) { success } }`, { input: { flow_id: fx.flowId } });
      }
      const id = await fx.createRun();
      const running = runBackedFlowRun(fx.client, id, { warn: () => {}, cancelPollMs: 20, cancelGraceMs: 30_000 });
      await until(() => calls(fx!.work, "t2") === 1, "task 2 to start");
      expect((await cancel(fx, id)).cancel_flow_run.state).toBe("Cancelling");
      // The runner says when it learned of the cancel; only then does task 2 finish.
      await until(async () => (await readRun(fx!.client, id)).logs.some((l) => l.message.startsWith("Flow run is cancelling: no new task run starts")), "the runner to see the cancel");
      writeFileSync(join(fx.work, "release"), "");
      expect(await running).toMatchObject({ status: "cancelled", state: "Cancelled" });
      await expectTask2KeptTheRestCancelled(fx, id);
    });
  }

  test("a cancel that lands while a task computes synchronously: no task starts after it returns", async () => {
    fx = await backedFixture(SYNC_CHAIN);
    const id = await fx.createRun({ parameters: { main: MAIN } });
    // The poll is short, but a main-thread poll could not run during the task: the thread's flag is what stops task 3.
    const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {}, cancelPollMs: 20, cancelGraceMs: 30_000 });
    expect(outcome).toMatchObject({ status: "cancelled", state: "Cancelled" });
    expect(readFileSync(join(fx.work, "seen"), "utf8")).toBe("true");
    await expectTask2KeptTheRestCancelled(fx, id);
  });

  test("a cancel while task 2 never finishes: after the grace, task 2 ends Cancelled with its Running in its history", async () => {
    fx = await backedFixture(CHAIN);
    const id = await fx.createRun();
    const running = runBackedFlowRun(fx.client, id, { warn: () => {}, cancelPollMs: 20, cancelGraceMs: 50 });
    await until(() => calls(fx!.work, "t2") === 1, "task 2 to start");
    await until(async () => (await histories(fx!, id))["t2-1"]!.state === "Running", "task 2's Running to be stored");
    await cancel(fx, id);
    expect(await running).toMatchObject({ status: "cancelled", state: "Cancelled" });
    writeFileSync(join(fx.work, "release"), "");
    const tasks = await histories(fx, id);
    expect(tasks["t2-1"]!.states.map((s) => s.state)).toEqual(["Pending", "Running", "Cancelled"]);
    expect(tasks["t2-1"]!.serialized_state.message).toBe("Flow run is cancelled: this task run had started and not finished");
    for (const slug of ["t3-1", "t4-1", "t5-1"]) expect([slug, tasks[slug]!.state]).toEqual([slug, "Cancelled"]);
    expect(calls(fx.work, "t3")).toBe(0);
  });
});
