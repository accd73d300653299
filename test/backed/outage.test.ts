/**
 * A run's process over HTTP while the server cannot be reached: its writes are kept and retried,
 * no task starts before its upstream's state is stored, and the run goes on once the server is
 * back; past the retry window it stops, leaving the run Running for the safeguards. Between the
 * runner and the server sits a proxy that goes down when the first task's Success passes through
 * it, after forwarding it (so its answer is lost: the retry must not write it twice).
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { settings } from "../../src/settings.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, calls, readRun, taskStates, type BackedFixture } from "./helpers.ts";

const FLOW = `
import { Flow, Parameter, task, context } from "prefectlite";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
const step = (name: string) => task({ name }, (x: number) => {
  const dir = context().parameters.dir as string;
  appendFileSync(join(dir, name), "x");
  if ((globalThis as { outageDown?: boolean }).outageDown) appendFileSync(join(dir, "started-while-down"), name);
  return x + 1;
});
const first = step("first");
const second = step("second");
const third = step("third");
export const flow = new Flow("outage", () => {
  Parameter("dir");
  third(second(first(0)));
});
`;

interface Proxy {
  url: string;
  /** Resolves once the proxy has gone down. */
  wentDown: Promise<void>;
  stop(): void;
}

/** Forwards to `target`; the request carrying task 'first''s Success is forwarded, its answer lost, then the proxy is down for `downMs` (forever when undefined). */
function outageProxy(target: string, downMs: number | undefined): Proxy {
  const flag = globalThis as { outageDown?: boolean };
  let tripped = false;
  let signalDown!: () => void;
  const wentDown = new Promise<void>((resolve) => (signalDown = resolve));
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      if (flag.outageDown) return new Response("down", { status: 503 });
      const body = await request.text();
      // As a reverse proxy configured with the backend's name: the server answers only to its own hosts.
      const headers = new Headers(request.headers);
      headers.delete("host");
      const forwarded = await fetch(`${target}${new URL(request.url).pathname}`, { method: request.method, headers, body });
      // The write carrying task 'first''s Success (its "Finished" log line travels with it; the
      // parameter's Success may go in a write of its own before it).
      if (!tripped && body.includes("set_task_run_states") && body.includes("Task 'first': Finished task run")) {
        tripped = true;
        flag.outageDown = true;
        signalDown();
        if (downMs !== undefined) setTimeout(() => (flag.outageDown = false), downMs);
        return new Response("the answer was lost", { status: 502 });
      }
      return new Response(await forwarded.text(), { status: forwarded.status, headers: { "content-type": "application/json" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    wentDown,
    stop: () => {
      flag.outageDown = false;
      server.stop(true);
    },
  };
}

function historyOf(taskRunId: string): string[] {
  const db = new Database(settings.databasePath(), { readonly: true });
  try {
    return (db.query("SELECT state FROM task_run_state WHERE task_run_id = $id ORDER BY version").all({ $id: taskRunId }) as Array<{ state: string }>).map((r) => r.state);
  } finally {
    db.close();
  }
}

describe("a backed run while the server cannot be reached", () => {
  useTempHome();
  let fx: BackedFixture | undefined;
  let proxy: Proxy | undefined;
  let runner: BackendClient | undefined;
  afterEach(async () => {
    proxy?.stop();
    await runner?.close();
    await fx?.close();
    fx = proxy = runner = undefined;
  });

  test("keeps its writes through a short outage and goes on: no task runs twice or starts early, each write is stored once", async () => {
    fx = await backedFixture(FLOW, { mode: "http" });
    proxy = outageProxy((await fx.client.baseUrl())!, 2000);
    runner = new BackendClient(new HttpBackend(proxy.url));
    const id = await fx.createRun();
    const outcome = await runBackedFlowRun(runner, id, { warn: () => {}, retryWindowMs: 10_000 });
    await proxy.wentDown;

    expect(outcome).toMatchObject({ status: "finished", state: "Success" });
    expect([calls(fx.work, "first"), calls(fx.work, "second"), calls(fx.work, "third")]).toEqual([1, 1, 1]);
    expect(existsSync(join(fx.work, "started-while-down"))).toBe(false);
    const run = await readRun(fx.client, id);
    expect(taskStates(run)).toMatchObject({ "first-1": "Success", "second-1": "Success", "third-1": "Success" });
    for (const t of run.task_runs.filter((t) => t.task_slug !== "dir")) expect(historyOf(t.id)).toEqual(["Pending", "Running", "Success"]);
    const finished = run.logs.filter((l) => l.message === "Task 'first': Finished task run for task with final state: 'Success'");
    expect(finished).toHaveLength(1);
  }, 30_000);

  test("past the retry window it stops: the next task never starts, the run is left Running for the safeguards", async () => {
    fx = await backedFixture(FLOW, { mode: "http" });
    proxy = outageProxy((await fx.client.baseUrl())!, undefined);
    runner = new BackendClient(new HttpBackend(proxy.url));
    const id = await fx.createRun();
    const outcome = await runBackedFlowRun(runner, id, { warn: () => {}, retryWindowMs: 1000 });

    expect(outcome.status).toBe("lost");
    expect(outcome.message).toContain("could not be reached");
    expect([calls(fx.work, "first"), calls(fx.work, "second")]).toEqual([1, 0]);
    const run = await readRun(fx.client, id);
    expect(run.state).toBe("Running");
    // The Success whose answer was lost had been stored, once.
    expect(taskStates(run)["first-1"]).toBe("Success");
  }, 30_000);
});
