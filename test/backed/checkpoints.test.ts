import { describe, expect, test } from "bun:test";
import { BackendReporter } from "../../src/backed/backend-reporter.ts";
import type { ReporterBackend } from "../../src/backed/backend-reporter.ts";
import type { LogRow, RunWriteBatch, TaskRunRow, TaskRunStateWrite } from "../../src/client/backend.ts";
import { nextTurn } from "../../src/core/event-loop.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { runFlow } from "../../src/engine/flow-runner.ts";
import { Flow, task } from "../../src/index.ts";
import { tempDir } from "../helpers.ts";

const FLOW_RUN = "00000000-0000-7000-8000-000000000001";
const idOf = (slug: string) => `00000000-0000-7000-8000-${String(1000 + slug.charCodeAt(0)).padStart(12, "0")}`;
const row = (slug: string): TaskRunRow => ({ id: idOf(slug), task_slug: slug, map_index: -1, version: 1, state: "Pending", serialized_state: null });

/**
 * A backend whose writes are stored only a few turns of the event loop after they are sent (a
 * slow commit), and that says what it had stored at any moment. `failWhen` makes a write fail
 * with Unavailable (the server is gone) for as long as it returns true.
 */
function slowBackend(options: { failWhen?: (items: readonly TaskRunStateWrite[]) => boolean } = {}) {
  const stored = { states: [] as Array<[string, string]>, logs: [] as string[] };
  const writes: Array<readonly TaskRunStateWrite[]> = [];
  const later = async () => {
    for (let i = 0; i < 5; i++) await nextTurn();
  };
  const storeStates = async (items: readonly TaskRunStateWrite[]) => {
    if (options.failWhen?.(items)) throw new PrefectliteError("Unavailable", "could not reach the prefectlite server");
    writes.push(items);
    await later();
    for (const i of items) stored.states.push([i.taskRunId, i.state.type]);
    return items.map((i) => i.version + 1);
  };
  const storeLogs = (logs: readonly LogRow[]) => {
    for (const l of logs) stored.logs.push(l.message);
  };
  const api: ReporterBackend = {
    readFlowRunState: async () => ({ state: "Running", version: 2 }),
    readTaskRuns: async () => [],
    setFlowRunState: async (_id, version) => version + 1,
    setTaskRunStates: storeStates,
    mappedChildren: async () => [],
    writeLogs: async (logs) => {
      await later();
      storeLogs(logs);
    },
    writeBatch: async (batch: RunWriteBatch) => {
      const versions = await storeStates(batch.taskRunStates);
      storeLogs(batch.logs);
      return { taskRunVersions: versions, flowRunVersion: batch.flowRunState && batch.flowRunState.version + 1 };
    },
  };
  const isStored = (slug: string, type: string) => stored.states.some(([id, t]) => id === idOf(slug) && t === type);
  return { api, stored, writes, isStored };
}

function reporterFor(api: ReporterBackend, slugs: string[], extra: { retryWindowMs?: number; onLost?: () => void } = {}) {
  return new BackendReporter(api, { flowRunId: FLOW_RUN, flowRunVersion: 1, taskRuns: slugs.map(row), versionLocking: false, warn: () => {}, ...extra });
}

describe("checkpoints: a task starts only once its upstream task's final state is stored", () => {
  test("in a chain, each task finds its upstream's Success and its log lines stored when it starts", async () => {
    const backend = slowBackend();
    const seen: Record<string, { upstreamStored: boolean; upstreamLogged: boolean }> = {};
    const step = (name: string, upstream?: string) =>
      task({ name }, (x: number) => {
        if (upstream) {
          seen[name] = {
            upstreamStored: backend.isStored(`${upstream}-1`, "Success"),
            upstreamLogged: backend.stored.logs.includes(`Task '${upstream}': Finished task run for task with final state: 'Success'`),
          };
        }
        return x + 1;
      });
    const a = step("a");
    const b = step("b", "a");
    const c = step("c", "b");
    const flow = new Flow("chain", () => {
      c(b(a(0)));
    });
    const state = await runFlow(flow, { reporter: reporterFor(backend.api, ["a-1", "b-1", "c-1"]), resultsDir: tempDir(), checkpoint: true });
    expect(state.type).toBe("Success");
    expect(seen).toEqual({ b: { upstreamStored: true, upstreamLogged: true }, c: { upstreamStored: true, upstreamLogged: true } });
  });

  test("a fan-out's siblings share their writes instead of paying one each", async () => {
    const backend = slowBackend();
    const root = task({ name: "root" }, () => 1);
    const leaf = task({ name: "leaf" }, (x: number) => x);
    const slugs = ["root-1", ...Array.from({ length: 10 }, (_, i) => `leaf-${i + 1}`)];
    const flow = new Flow("fan-out", () => {
      const r = root();
      for (let i = 0; i < 10; i++) leaf(r);
    });
    const state = await runFlow(flow, { reporter: reporterFor(backend.api, slugs), resultsDir: tempDir() });
    expect(state.type).toBe("Success");
    const leafWrites = backend.writes.filter((items) => items.some((i) => i.state.type === "Success" && i.taskRunId !== idOf("root-1")));
    expect(leafWrites.length).toBeLessThan(10);
  });

  test("when the backend never stores the upstream's Success, the downstream task never starts and the run stops", async () => {
    const backend = slowBackend({ failWhen: (items) => items.some((i) => i.state.type === "Success") });
    let downstreamRan = false;
    let lost = false;
    const a = task({ name: "a" }, () => 1);
    const b = task({ name: "b" }, (x: number) => {
      downstreamRan = true;
      return x;
    });
    const flow = new Flow("stops", () => {
      b(a());
    });
    const reporter = reporterFor(backend.api, ["a-1", "b-1"], { retryWindowMs: 50, onLost: () => (lost = true) });
    const error = await runFlow(flow, { reporter, resultsDir: tempDir() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "Unavailable" });
    expect(lost).toBe(true);
    expect(reporter.lost?.code).toBe("Unavailable");
    expect(downstreamRan).toBe(false);
    expect(backend.isStored("a-1", "Success")).toBe(false);
  });
});
