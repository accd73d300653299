/**
 * The backed runner's run API through both of its implementations — GraphQL operations (over
 * HTTP to a real server) and the services called directly (the embedded database in this
 * process) — with the same assertions, and the same answers compared side by side.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpTransport } from "../../src/client/http-transport.ts";
import { registerFlow } from "../../src/client/register.ts";
import { GraphqlRunApi, runApiFor, type RunApi } from "../../src/client/run-api.ts";
import { ServicesRunApi } from "../../src/client/services-run-api.ts";
import { Flow, Parameter, task } from "../../src/index.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { EmbeddedTransport } from "../../src/runtime/embedded-transport.ts";
import { startServer, type RunningServer } from "../../src/server/serve.ts";
import { errorOf, tempDir } from "../helpers.ts";

const double = task({ name: "double" }, (n: number) => n * 2);
const flow = new Flow("doubler", () => {
  const items = Parameter<number[]>("items", { default: [1, 2, 3] });
  double.map(items);
});

let backend: Backend;
let server: RunningServer;
let embedded: BackendClient;
let http: BackendClient;
let flowRunId: string;

beforeEach(async () => {
  backend = openBackend(join(tempDir(), "prefectlite.db"));
  server = startServer({ host: "127.0.0.1", port: 0, schema: backend.schema, contextFactory: (i) => backend.context(i.agentId) });
  embedded = new BackendClient(new EmbeddedTransport(backend, false));
  http = new BackendClient(new HttpTransport(server.url));
  await embedded.createProject("run-api");
  const { id: flowId } = await registerFlow(embedded, flow, "run-api");
  flowRunId = await embedded.createFlowRun({ flowId });
});

afterEach(async () => {
  await http.close();
  await server.stop();
  backend.close();
});

describe("a mutation document in-process (the embedded transport)", () => {
  test("is all or nothing, as over HTTP", async () => {
    const twoProjects = `mutation ($a: String!, $b: String!) { first: create_project(input: { name: $a }) { id } second: create_project(input: { name: $b }) { id } }`;
    expect((await errorOf(embedded.graphql(twoProjects, { a: "in-process-new", b: "run-api" }))).message).toContain("run-api");
    expect(backend.db.query("SELECT name FROM project WHERE name = 'in-process-new'").all()).toEqual([]);
    await embedded.graphql(twoProjects, { a: "in-process-1", b: "in-process-2" });
    expect(backend.db.query("SELECT COUNT(*) AS n FROM project WHERE name LIKE 'in-process-%'").get()).toEqual({ n: 2 });
  });
});

describe("choosing the run API", () => {
  test("a client on the embedded database gets the services directly; one over HTTP, GraphQL", async () => {
    expect(await runApiFor(embedded)).toBeInstanceOf(ServicesRunApi);
    expect(await runApiFor(http)).toBeInstanceOf(GraphqlRunApi);
  });

  test("both read the same run, the same task runs and the same state", async () => {
    const direct = await runApiFor(embedded);
    const overHttp = await runApiFor(http);
    const a = await direct.readFlowRun(flowRunId);
    expect(a).toBeDefined();
    expect(a).toEqual((await overHttp.readFlowRun(flowRunId))!);
    expect(await direct.readFlowRunState(flowRunId)).toEqual((await overHttp.readFlowRunState(flowRunId))!);
    const ids = a!.task_runs.map((t) => t.id);
    expect(await direct.readTaskRuns(ids)).toEqual(await overHttp.readTaskRuns(ids));
    expect(await direct.readFlowRun("00000000-0000-7000-8000-000000000000")).toBeUndefined();
    expect(await overHttp.readFlowRun("00000000-0000-7000-8000-000000000000")).toBeUndefined();
  });
});

describe.each([
  ["services, directly", () => runApiFor(embedded)],
  ["GraphQL over HTTP", () => runApiFor(http)],
] as const)("the run API (%s)", (_name, open) => {
  let api: RunApi;
  beforeEach(async () => {
    api = await open();
  });

  test("reads the run with its flow, the flow group's settings and its Pending task runs", async () => {
    const run = (await api.readFlowRun(flowRunId))!;
    expect(run).toMatchObject({ id: flowRunId, version: 1, state: "Scheduled", parameters: { items: [1, 2, 3] }, labels: [] });
    expect(run.flow).toMatchObject({ name: "doubler", storage: null });
    expect(run.flow.serialized_hash).toMatch(/^[0-9a-f]{16,}$/);
    expect(run.flow.flow_group?.settings).toMatchObject({ heartbeat_enabled: true });
    expect(run.task_runs.map((t) => [t.task_slug, t.map_index, t.version, t.state])).toEqual(
      expect.arrayContaining([
        ["items", -1, 1, "Pending"],
        ["double-1", -1, 1, "Pending"],
      ]),
    );
  });

  test("versioned states: each write returns the new version; a stale one is a VersionConflict", async () => {
    const now = new Date().toISOString();
    expect(await api.setFlowRunState(flowRunId, 1, { type: "Running", message: "go", timestamp: now })).toBe(2);
    expect((await errorOf(api.setFlowRunState(flowRunId, 1, { type: "Success", message: "late", timestamp: now }))).code).toBe("VersionConflict");
    expect(await api.readFlowRunState(flowRunId)).toEqual({ state: "Running", version: 2 });
    const [items] = (await api.readFlowRun(flowRunId))!.task_runs.filter((t) => t.task_slug === "items");
    const versions = await api.setTaskRunStates([
      { taskRunId: items!.id, version: 1, state: { type: "Running", message: "", timestamp: now } },
      { taskRunId: items!.id, version: 2, state: { type: "Success", message: "", timestamp: now } },
    ]);
    expect(versions).toEqual([2, 3]);
    const refused = await errorOf(api.setTaskRunStates([{ taskRunId: items!.id, version: 2, state: { type: "Failed", message: "", timestamp: now } }]));
    expect(refused.code).toBe("VersionConflict");
    expect((await api.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Success", version: 3 });
  });

  test("a write batch — task-run states, logs, the flow run's state — is written whole, or not at all", async () => {
    const now = new Date().toISOString();
    expect(await api.setFlowRunState(flowRunId, 1, { type: "Running", message: "", timestamp: now })).toBe(2);
    const [items] = (await api.readFlowRun(flowRunId))!.task_runs.filter((t) => t.task_slug === "items");
    const batch = (flowVersion: number) => ({
      taskRunStates: [
        { taskRunId: items!.id, version: 1, state: { type: "Running" as const, message: "", timestamp: now } },
        { taskRunId: items!.id, version: 2, state: { type: "Success" as const, message: "", timestamp: now } },
      ],
      logs: [{ flow_run_id: flowRunId, task_run_id: items!.id, timestamp: now, name: "test", level: "INFO", message: "batched" }],
      flowRunState: { id: flowRunId, version: flowVersion, state: { type: "Success" as const, message: "done", timestamp: now } },
    });
    const logCount = () => (backend.db.query("SELECT COUNT(*) AS n FROM log WHERE flow_run_id = $id").get({ id: flowRunId }) as { n: number }).n;
    expect((await errorOf(api.writeBatch!(batch(1)))).code).toBe("VersionConflict"); // a stale flow-run version…
    expect((await api.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Pending", version: 1 }); // …writes nothing
    expect(logCount()).toBe(0);
    expect(await api.writeBatch!(batch(2))).toEqual({ taskRunVersions: [2, 3], flowRunVersion: 3 });
    expect(await api.readFlowRunState(flowRunId)).toEqual({ state: "Success", version: 3 });
    expect((await api.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Success", version: 3 });
    expect(logCount()).toBe(1);
  });

  test("mapped children are created once, in order; logs, heartbeats and a cancel are recorded", async () => {
    const children = await api.mappedChildren(flowRunId, "double-1", 3);
    expect(children.map((c) => [c.task_slug, c.map_index, c.version, c.state])).toEqual([
      ["double-1", 0, 1, "Pending"],
      ["double-1", 1, 1, "Pending"],
      ["double-1", 2, 1, "Pending"],
    ]);
    expect((await api.mappedChildren(flowRunId, "double-1", 3)).map((c) => c.id)).toEqual(children.map((c) => c.id));
    await api.writeLogs([{ flow_run_id: flowRunId, task_run_id: children[1]!.id, timestamp: new Date().toISOString(), name: "test", level: "INFO", message: "hello" }]);
    const logs = backend.db.query("SELECT task_run_id, message FROM log WHERE flow_run_id = $id").all({ id: flowRunId });
    expect(logs).toEqual([{ task_run_id: children[1]!.id, message: "hello" }]);
    await api.heartbeat(flowRunId);
    expect((backend.db.query("SELECT heartbeat FROM flow_run WHERE id = $id").get({ id: flowRunId }) as { heartbeat: string | null }).heartbeat).not.toBeNull();
    expect(await api.cancel(flowRunId)).toBe("Cancelled");
    expect((await errorOf(api.mappedChildren(flowRunId, "no-such-task", 1))).code).toBe("NotFound");
  });
});
