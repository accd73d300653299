/**
 * The in-process backend's heartbeat thread reaches the database through a store of its own
 * (runtime/heartbeat-worker.ts), on a SQLite file and on PostgreSQL alike: it beats while this
 * thread computes synchronously, and it sees a cancel.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { watchRun } from "../../src/backed/run-watch.ts";
import type { Backend } from "../../src/client/backend.ts";
import { watchFromThread } from "../../src/client/heartbeat-thread.ts";
import { STORE_HEARTBEAT_WORKER } from "../../src/runtime/embedded-backend.ts";
import { tempDir } from "../helpers.ts";
import { backedFixture, until, type BackedFixture } from "../backed/helpers.ts";
import { POSTGRES_AVAILABLE, postgresDatabase, type TestDatabase } from "../postgres.ts";

const FLOW = `
import { Flow, Parameter, task } from "prefectlite";
const noop = task({ name: "noop" }, () => 1);
export const flow = new Flow("beating", () => { Parameter("dir"); noop(); });
`;

const databases = [
  { name: "a SQLite file", url: async () => `sqlite:${tempDir("prefectlite-hb-")}/prefectlite.db`, skip: false },
  { name: "PostgreSQL", url: async () => (pg = await postgresDatabase()).url, skip: !POSTGRES_AVAILABLE },
];
let pg: TestDatabase | undefined;

describe.each(databases)("the heartbeat thread on $name", ({ url, skip }) => {
  let fx: BackedFixture | undefined;
  let previous: string | undefined;
  beforeAll(async () => {
    if (skip) return;
    previous = process.env.PREFECTLITE_DATABASE_URL;
    process.env.PREFECTLITE_DATABASE_URL = await url();
    fx = await backedFixture(FLOW);
  });
  afterAll(async () => {
    await fx?.close();
    await pg?.drop();
    pg = undefined;
    if (previous === undefined) delete process.env.PREFECTLITE_DATABASE_URL;
    else process.env.PREFECTLITE_DATABASE_URL = previous;
  });

  test.skipIf(skip)("beats through the store while this thread computes, and sees the cancel", async () => {
    const id = await fx!.createRun();
    const backend = await fx!.client.backend();
    await backend.setFlowRunState(id, 1, { type: "Running", message: "" });
    const beats: boolean[] = [];
    const watch = backend.watchFromThread(id, { heartbeatMs: 20, cancelPollMs: 20, onBeat: (ok) => beats.push(ok) });
    expect(watch).toBeDefined();
    try {
      await until(() => beats.length > 0, "the thread's first beat (it opens the database first)");
      const started = new Date().toISOString();
      const spinUntil = performance.now() + 400;
      while (performance.now() < spinUntil) {} // no beat can come from this thread meanwhile
      const { flow_run_by_pk: run } = await fx!.client.graphql<{ flow_run_by_pk: { heartbeat: string | null } }>(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { heartbeat } }`,
        { id },
      );
      expect(Date.parse(run.heartbeat!)).toBeGreaterThan(Date.parse(started));
      expect(beats.every((ok) => ok)).toBe(true);
      await backend.cancel(id);
      await until(() => watch!.cancelRequested(), "the thread to see the cancel");
    } finally {
      watch!.stop();
    }
  });
});

describe("when the heartbeat thread cannot reach the database", () => {
  test("the first failure is said once, and after three in a row the run's own thread beats instead", async () => {
    let beats = 0;
    // Nothing listens on port 1: every beat of the thread fails.
    const target = { kind: "store" as const, url: "postgres://nobody@127.0.0.1:1/none", worker: STORE_HEARTBEAT_WORKER };
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
    expect(warnings[0]).toStartWith(`Heartbeat for flow run ${flowRunId} failed: cannot connect to postgres://nobody@127.0.0.1:1/none`);
  });
});
