import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { watchRun } from "../../src/backed/run-watch.ts";
import type { Backend } from "../../src/client/backend.ts";
import { watchFromThread } from "../../src/client/heartbeat-thread.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { registerFlow } from "../../src/client/register.ts";
import { TaskRunView } from "../../src/client/views/index.ts";
import { loadFlowsFromFile } from "../../src/loader/load.ts";
import { settings } from "../../src/settings.ts";
import { startServe, type ServeProcess } from "../e2e/ui-server.ts";
import { tempDir, useTempHome } from "../helpers.ts";
import { backedFixture, until, type BackedFixture } from "./helpers.ts";

/**
 * One task computing synchronously for a while: its own thread cannot beat meanwhile. At the end
 * of its computation the task reads the run's heartbeat from the backend's database itself.
 */
const SPIN = `
import { Flow, Parameter, task, context } from "prefectlite";
import { Database } from "bun:sqlite";
const spin = task({ name: "spin" }, (path: string) => {
  const started = new Date().toISOString();
  const until = performance.now() + 400;
  while (performance.now() < until) {}
  const db = new Database(path, { readonly: true });
  const row = db.query("SELECT heartbeat FROM flow_run WHERE id = ?").get(context().flowRunId) as { heartbeat: string };
  db.close();
  return { started, heartbeat: row.heartbeat };
});
export const flow = new Flow("spin", () => {
  Parameter("dir");
  spin(Parameter("db"));
});
`;

/** What the task saw; a beat after it began computing came from another thread. */
async function seenByTask(client: BackendClient, flowRunId: string): Promise<{ started: string; heartbeat: string }> {
  const view = await TaskRunView.fromTaskSlug("spin-1", { flowRunId, client });
  return (await view.getResult()) as { started: string; heartbeat: string };
}

describe("heartbeats while a task computes synchronously", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  let server: ServeProcess | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
    await server?.stop();
    server = undefined;
  });

  test("on the embedded database, the heartbeat thread beats while the run's thread is busy in the task", async () => {
    fx = await backedFixture(SPIN);
    const id = await fx.createRun({ parameters: { db: settings.databasePath() } });
    const outcome = await runBackedFlowRun(fx.client, id, { warn: () => {}, heartbeatMs: 20 });
    expect(outcome).toMatchObject({ status: "finished", state: "Success" });
    const seen = await seenByTask(fx.client, id);
    expect(Date.parse(seen.heartbeat)).toBeGreaterThan(Date.parse(seen.started));
  });

  test("over HTTP (a server in its own process, with a token), the heartbeat thread beats while the run's thread is busy", async () => {
    server = await startServe({ files: [], token: "heartbeat-test-token" });
    const client = new BackendClient(new HttpBackend(server.url, "heartbeat-test-token"));
    try {
      await client.createProject("test");
      const path = join(tempDir("prefectlite-flows-"), "spin.ts");
      writeFileSync(path, SPIN);
      const { id: flowId } = await registerFlow(client, (await loadFlowsFromFile(path, { fresh: true })).flows[0]!, "test");
      // A label serve's own agent does not have: only this test's runner executes the run.
      const id = await client.createFlowRun({ flowId, parameters: { dir: "unused", db: join(server.home, "prefectlite.db") }, labels: ["this-test-only"] });
      const warnings: string[] = [];
      const outcome = await runBackedFlowRun(client, id, { warn: (m) => warnings.push(m), heartbeatMs: 20 });
      expect(outcome).toMatchObject({ status: "finished", state: "Success" });
      const seen = await seenByTask(client, id);
      expect(Date.parse(seen.heartbeat)).toBeGreaterThan(Date.parse(seen.started));
      expect(warnings).toEqual([]); // every beat was accepted: the thread sends the token too
    } finally {
      await client.close();
    }
  });
});

describe("the cancel watch on the heartbeat thread", () => {
  useTempHome();

  test("sets the run's cancel flag while this thread computes synchronously, without this thread's event loop turning", async () => {
    const fx = await backedFixture(SPIN);
    try {
      const id = await fx.createRun({ parameters: { db: settings.databasePath() } });
      const heard: string[] = [];
      const watch = (await fx.client.backend()).watchFromThread(id, { heartbeatMs: 60_000, cancelPollMs: 10, onCancel: () => heard.push("cancel") })!;
      try {
        await fx.client.graphql(`mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id } } }`, {
          input: { states: [{ flow_run_id: id, version: 1, state: { type: "Running" } }] },
        });
        await fx.client.graphql(`mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`, { input: { flow_run_id: id } });
        // Busy from here on: only another thread can set the flag (the deadline is a safety net).
        const deadline = performance.now() + 20_000;
        while (!watch.cancelRequested() && performance.now() < deadline) {}
        expect(watch.cancelRequested()).toBe(true);
        expect(heard).toEqual([]); // the message waits for this thread's next turn
        await until(() => heard.length > 0, "the thread's message");
        expect(heard).toEqual(["cancel"]);
      } finally {
        watch.stop();
      }
    } finally {
      await fx.close();
    }
  });
});

describe("when the heartbeat thread cannot beat", () => {
  test("the first failure is said once, and after three in a row the run's own thread beats instead", async () => {
    let beats = 0;
    // Nothing listens on port 1: every beat of the thread fails.
    const target = { kind: "http" as const, endpoint: "http://127.0.0.1:1/graphql", headers: {} };
    const api: Pick<Backend, "heartbeat" | "readFlowRunState" | "watchFromThread"> = {
      heartbeat: async () => void beats++,
      readFlowRunState: async () => ({ state: "Running", version: 1 }),
      watchFromThread: (id, options) => watchFromThread(target, id, options),
    };
    const warnings: string[] = [];
    const flowRunId = "01a20000-0000-7000-8000-000000000000";
    const watch = watchRun(api, { flowRunId, heartbeatMs: 10, onCancel: () => {}, warn: (m) => warnings.push(m) });
    try {
      await until(() => beats > 0, "the run's own thread to beat");
    } finally {
      watch.stop();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toStartWith(`Heartbeat for flow run ${flowRunId} failed:`);
  });
});
