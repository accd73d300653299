/**
 * The composing tasks called as a task run would call them: inside a run context of a backed
 * parent, on the embedded database of a temporary PREFECTLITE_HOME.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runInContext, type RunContext } from "../../src/core/context.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { createLogger, type LogRecord } from "../../src/core/logging.ts";
import { FAIL } from "../../src/core/signals.ts";
import { Client, createFlowRun, FlowRunView, FlowView, getTaskRunResult, waitForFlowRun } from "../../src/index.ts";
import { REPO_ROOT, runCli, useTempHome } from "../helpers.ts";

const FIXTURES = join(REPO_ROOT, "test/compose/fixtures/flows.ts");
const SLOW = 60_000;
const home = useTempHome();

let client: Client;
let logs: LogRecord[];

beforeEach(async () => {
  logs = [];
  expect((await runCli(["create", "project", "compose"], { home: home() })).exitCode).toBe(0);
  expect((await runCli(["register", "-p", FIXTURES, "--project", "compose"], { home: home() })).exitCode).toBe(0);
  client = new Client();
});

/** The context of task run `taskRunId` (map index `mapIndex`) of a backed parent run. */
function parentContext(o: { taskRunId?: string; mapIndex?: number; flowRunId?: string } = {}): RunContext {
  return {
    logger: createLogger({ name: "test", minLevel: "DEBUG", sink: (r) => logs.push(r), now: Date.now }),
    flowName: "parent",
    flowRunId: o.flowRunId ?? crypto.randomUUID(),
    flowRunName: "brave-parent",
    flowId: undefined,
    parameters: {},
    taskRunId: o.taskRunId ?? crypto.randomUUID(),
    taskSlug: "create_flow_run-1",
    taskName: "create_flow_run",
    mapIndex: o.mapIndex ?? -1,
    apiUrl: undefined,
    backed: true,
    logStdout: false,
    cancelled: false,
    signal: new AbortController().signal,
  };
}

/** A registered agent with no labels that polled just now (so runs with no labels have a taker). */
async function liveAgent(): Promise<void> {
  const { register_agent } = await client.graphql<{ register_agent: { id: string } }>(
    `mutation { register_agent(input: { type: "test", name: "tester", labels: [] }) { id } }`,
  );
  await client.graphql(`mutation ($id: UUID) { get_runs_in_queue(input: { agent_id: $id }) { flow_run_ids } }`, { id: register_agent.id });
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

const messages = () => logs.map((r) => r.message);

describe("createFlowRun", () => {
  test("returns the child's id at once, named <parent run>-<child flow>, and says so", async () => {
    await liveAgent();
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "child", parameters: { data_size: 3 } }));
    const view = await FlowRunView.fromFlowRunId(id);
    expect(view.name).toBe("brave-parent-child");
    expect(view.parameters).toEqual({ data_size: 3 });
    expect(view.state.type).toBe("Scheduled"); // a live agent covers it: nothing executes here
    expect(messages()).toEqual([
      "Creating flow run 'brave-parent-child' for flow 'child'...",
      `Created flow run 'brave-parent-child': http://127.0.0.1:4200/flow-run/${id}`,
    ]);
  });

  test("a retried task run gets the same child; each mapped child task run its own", async () => {
    await liveAgent();
    const taskRunId = crypto.randomUUID();
    const first = await runInContext(parentContext({ taskRunId }), () => createFlowRun.fn({ flowName: "child" }));
    const retried = await runInContext(parentContext({ taskRunId }), () => createFlowRun.fn({ flowName: "child" }));
    const mapped0 = await runInContext(parentContext({ taskRunId, mapIndex: 0 }), () => createFlowRun.fn({ flowName: "child" }));
    const mapped1 = await runInContext(parentContext({ taskRunId, mapIndex: 1 }), () => createFlowRun.fn({ flowName: "child" }));
    expect(retried).toBe(first);
    expect(new Set([first, mapped0, mapped1]).size).toBe(3);
    const keys = await client.graphql<{ flow_run: Array<{ idempotency_key: string }> }>(
      `query { flow_run(order_by: { idempotency_key: asc }) { idempotency_key } }`,
    );
    expect(keys.flow_run.map((r) => r.idempotency_key)).toEqual([taskRunId, `${taskRunId}-0`, `${taskRunId}-1`]);
  });

  test("finds the flow by id or flow group id; wants exactly one of flowName and flowId", async () => {
    await liveAgent();
    const flow = await FlowView.fromFlowName("child");
    const byId = await runInContext(parentContext(), () => createFlowRun.fn({ flowId: flow.flowId, runName: "by-id" }));
    const byGroup = await runInContext(parentContext(), () => createFlowRun.fn({ flowId: flow.flowGroupId, runName: "by-group" }));
    expect((await FlowRunView.fromFlowRunId(byId)).flowId).toBe(flow.flowId);
    expect((await FlowRunView.fromFlowRunId(byGroup)).name).toBe("by-group");
    const both = await errorOf(runInContext(parentContext(), () => createFlowRun.fn({ flowName: "child", flowId: flow.flowId })));
    expect(both).toMatchObject({ code: "Validation", message: "createFlowRun needs exactly one of flowName or flowId" });
    const unknown = await errorOf(runInContext(parentContext(), () => createFlowRun.fn({ flowName: "nope" })));
    expect(unknown).toMatchObject({ code: "NotFound", message: "No flow named 'nope': register it first" });
    const badId = await errorOf(runInContext(parentContext(), () => createFlowRun.fn({ flowId: crypto.randomUUID() })));
    expect((badId as PrefectliteError).code).toBe("NotFound");
  });
});

describe("agentless execution and getTaskRunResult", () => {
  test("a child no live agent covers runs here; getTaskRunResult waits for it and reads the result", async () => {
    await liveAgent(); // no labels: it cannot take a run labelled "gpu"
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "child", labels: ["gpu"] }));
    expect(messages()).toContain(`No live agent can take flow run 'brave-parent-child' (with labels ["gpu"]): executing it agentlessly in a child process`);
    const result = await runInContext(parentContext(), () => getTaskRunResult.fn(id, "create_some_data-1"));
    expect(result).toEqual([0, 1, 2, 3, 4]);
    expect((await FlowRunView.fromFlowRunId(id)).state.type).toBe("Success");
  }, SLOW);

  test("reads one mapped child by map index, or the parent's whole list", async () => {
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "mapped-child" }));
    expect(messages().some((m) => m.includes("(with no labels): executing it agentlessly"))).toBe(true);
    expect(await runInContext(parentContext(), () => getTaskRunResult.fn(id, "inc-1", { mapIndex: 2 }))).toBe(31);
    expect(await runInContext(parentContext(), () => getTaskRunResult.fn(id, "inc-1"))).toEqual([11, 21, 31]);
  }, SLOW);

  test("refuses its own flow run and an empty slug", async () => {
    const own = crypto.randomUUID();
    const self = await errorOf(runInContext(parentContext({ flowRunId: own }), () => getTaskRunResult.fn(own, "x-1")));
    expect(self).toMatchObject({ code: "Validation", message: "getTaskRunResult cannot read a result of its own flow run (it would wait for itself)" });
    const empty = await errorOf(runInContext(parentContext(), () => getTaskRunResult.fn(own, "")));
    expect((empty as PrefectliteError).code).toBe("Validation");
  });
});

describe("waitForFlowRun", () => {
  test("streams the child's states and log lines, and with raiseFinalState fails when the child fails", async () => {
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "failing-child", runName: "doomed" }));
    const failure = await errorOf(runInContext(parentContext(), () => waitForFlowRun.fn(id, { streamLogs: true, raiseFinalState: true })));
    expect(failure).toBeInstanceOf(FAIL);
    expect((failure as FAIL).message).toStartWith(`${id} finished in state <Failed: `);
    const lines = messages();
    expect(lines).toContain("Flow 'doomed': Entered state <Scheduled>: Flow run scheduled.");
    expect(lines).toContain("Flow 'doomed': about to fail");
    expect(lines.some((m) => m.startsWith("Flow 'doomed': Entered state <Failed>"))).toBe(true);
    const errorLine = logs.find((r) => r.message.startsWith("Flow 'doomed': Task 'boom': Exception encountered"));
    expect(errorLine?.level).toBe("ERROR");
  }, SLOW);

  test("gives up after maxDurationMs: the task fails and says what the child is doing", async () => {
    await liveAgent(); // it covers the child, so nobody executes it here; and it is not due for an hour
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "failing-child", runName: "later", scheduledStartTime: later }));
    const failure = await errorOf(runInContext(parentContext(), () => waitForFlowRun.fn(id, { streamStates: false, maxDurationMs: 300 })));
    expect(failure).toBeInstanceOf(FAIL);
    expect((failure as FAIL).message).toBe(`Flow run ${id} did not finish within 300 ms (maxDurationMs); it is Scheduled`);
    const refused = await errorOf(runInContext(parentContext(), () => waitForFlowRun.fn(id, { maxDurationMs: 0 })));
    expect(refused).toMatchObject({ code: "Validation", message: "maxDurationMs must be a number of milliseconds > 0" });
  }, SLOW);

  test("returns the finished child's FlowRunView; without raiseFinalState a failed child is no error", async () => {
    const id = await runInContext(parentContext(), () => createFlowRun.fn({ flowName: "failing-child", runName: "doomed" }));
    const view = await runInContext(parentContext(), () => waitForFlowRun.fn(id, { streamStates: false }));
    expect(view).toBeInstanceOf(FlowRunView);
    expect(view.flowRunId).toBe(id);
    expect(view.state.type).toBe("Failed");
    expect(messages().some((m) => m.startsWith("Flow 'doomed'"))).toBe(false);
  }, SLOW);
});
