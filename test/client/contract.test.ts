/**
 * THE contract of the Backend interface (src/client/backend.ts), run against both of its
 * implementations: in-process over the services on the embedded database, and GraphQL over HTTP
 * to a real server. Every method must behave the same way through either; the SDK's and the
 * CLI's BackendClient, a facade over the same Backend, is held to it too.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Backend } from "../../src/client/backend.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { registerFlow } from "../../src/client/register.ts";
import { ServicesBackend } from "../../src/client/services-backend.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { Flow as CoreFlow } from "../../src/core/flow.ts";
import { LocalRun } from "../../src/core/run-config.ts";
import { serializeFlow } from "../../src/core/serialize.ts";
import { openBackend, type Backend as EmbeddedDatabase } from "../../src/runtime/backend.ts";
import { connect } from "../../src/runtime/connect.ts";
import { embeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { startServer } from "../../src/server/serve.ts";
import { settings } from "../../src/settings.ts";
import { Flow, Parameter, task } from "../../src/index.ts";
import { until } from "../backed/helpers.ts";
import { errorOf, useTempHome } from "../helpers.ts";
import { describeBackends, sqlOn, testDatabase, type SqlRunner, type StoreKind } from "../storage-helpers.ts";

interface Harness {
  backend: Backend;
  client: BackendClient;
  /** The database under both, to read what a call left. */
  database: EmbeddedDatabase;
  /** The server's URL (over HTTP). */
  url?: string;
  /** SQL on the database under both (a connection of its own), for assertions. */
  sql: SqlRunner;
  /** The database's URL, as openStorage takes it. */
  databaseUrl: string;
  close(): Promise<void>;
}

async function embedded(kind: StoreKind): Promise<Harness> {
  const { url, drop } = await testDatabase(kind);
  const database = await openBackend(url);
  const raw = sqlOn(url);
  const backend = embeddedBackend(database, { home: "/the/home" });
  return {
    backend,
    client: new BackendClient(backend),
    database,
    databaseUrl: url,
    sql: raw.sql,
    close: async () => {
      await raw.end();
      await database.close();
      await drop();
    },
  };
}

async function overHttp(kind: StoreKind): Promise<Harness> {
  const { url, drop } = await testDatabase(kind);
  const database = await openBackend(url);
  const raw = sqlOn(url);
  const server = startServer({ host: "127.0.0.1", port: 0, schema: await database.schema(), contextFactory: (i) => database.context(i.agentId) });
  const backend = new HttpBackend(server.url);
  return {
    backend,
    client: new BackendClient(backend),
    database,
    databaseUrl: url,
    url: server.url,
    sql: raw.sql,
    close: async () => {
      await server.stop();
      await raw.end();
      await database.close();
      await drop();
    },
  };
}

const greet = task({ name: "greet" }, (name: string, times: number) => `${name}`.repeat(times));

function greetFlow(defaultTimes = 1): CoreFlow {
  return new Flow("greet", () => {
    const name = Parameter<string>("name");
    const times = Parameter("times", { default: defaultTimes });
    greet(name, times);
  });
}


const double = task({ name: "double" }, (n: number) => n * 2);
const doubler = new Flow("doubler", () => {
  const items = Parameter<number[]>("items", { default: [1, 2, 3] });
  double.map(items);
});

describeBackends((kind) => {
  describe.each([
    ["embedded", embedded],
    ["http", overHttp],
  ] as const)("the Backend %s", (name, open) => {
    let h: Harness;
    beforeEach(async () => {
      h = await open(kind);
    });
    afterEach(async () => {
      await h.close();
    });

    /** A Scheduled run of the doubler flow (a mapped task of 3 children to be). */
    async function doublerRun(input: { runConfig?: LocalRun } = {}): Promise<string> {
      await h.client.createProject("run-api");
      const { id: flowId } = await registerFlow(h.client, doubler, "run-api");
      return h.client.createFlowRun({ flowId, runConfig: input.runConfig });
    }
    const one = async <T,>(sql: string, id: string) => (await h.sql<T>(sql, { id }))[0] as T;

    test("creates a project once and reports an existing one", async () => {
      const first = await h.client.createProject("example", "demo");
      const again = await h.client.createProject("example");
      expect(first.created).toBe(true);
      expect(again).toEqual({ id: first.id, created: false });
      expect((await h.client.listProjects()).map((p) => p.name)).toEqual(["example"]);
    });

    test("registers a flow, skips it when unchanged, and versions it when it changes", async () => {
      await h.client.createProject("example");
      const first = await registerFlow(h.client, greetFlow(1), "example");
      const same = await registerFlow(h.client, greetFlow(1), "example");
      const changed = await registerFlow(h.client, greetFlow(2), "example");
      expect(first).toMatchObject({ status: "registered", version: 1 });
      expect(same).toEqual({ status: "skipped", id: first.id, version: 1 });
      expect(changed).toMatchObject({ status: "registered", version: 2 });
      const flows = await h.client.listFlows({ all: true });
      expect(flows.map((f) => [f.version, f.archived])).toEqual([
        [2, false],
        [1, true],
      ]);
    });

    test("refuses to register into a project that does not exist", async () => {
      const e = await errorOf(registerFlow(h.client, greetFlow(), "nowhere"));
      expect(e.code).toBe("NotFound");
      expect(e.message).toContain("Project 'nowhere' does not exist");
    });

    test("creates runs with resolved parameters, and returns the same run for the same idempotency key", async () => {
      await h.client.createProject("example");
      const { id: flowId } = await registerFlow(h.client, greetFlow(3), "example");
      const runId = await h.client.createFlowRun({ flowId, parameters: { name: "ada" }, idempotencyKey: "k1" });
      const again = await h.client.createFlowRun({ flowId, parameters: { name: "bob" }, idempotencyKey: "k1" });
      expect(again).toBe(runId);
      const data = await h.client.graphql<{ flow_run_by_pk: { parameters: unknown; state: string; version: number } }>(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { parameters state version } }`,
        { id: runId },
      );
      expect(data.flow_run_by_pk).toEqual({ parameters: { name: "ada", times: 3 }, state: "Scheduled", version: 1 });
    });

    test("refuses a run missing a required parameter or naming an unknown one", async () => {
      await h.client.createProject("example");
      const { id: flowId } = await registerFlow(h.client, greetFlow(), "example");
      const missing = await errorOf(h.client.createFlowRun({ flowId }));
      const unknown = await errorOf(h.client.createFlowRun({ flowId, parameters: { name: "x", nmae: "y" } }));
      expect(missing.code).toBe("Validation");
      expect(missing.message).toContain("name");
      expect(unknown.code).toBe("Validation");
      expect(unknown.message).toContain("nmae");
    });

    test("refuses a state written over a stale version and changes nothing", async () => {
      await h.client.createProject("example");
      const { id: flowId } = await registerFlow(h.client, greetFlow(), "example");
      const runId = await h.client.createFlowRun({ flowId, parameters: { name: "x" } });
      await h.client.setFlowRunState(runId, 1, { type: "Submitted", message: "taken" });
      const stale = await errorOf(h.client.setFlowRunState(runId, 1, { type: "Running", message: "late" }));
      expect(stale.code).toBe("VersionConflict");
      const data = await h.client.graphql<{ flow_run_by_pk: { state: string; version: number } }>(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version } }`,
        { id: runId },
      );
      expect(data.flow_run_by_pk).toEqual({ state: "Submitted", version: 2 });
    });

    test("answers a malformed document with a GraphQL error, not a crash", async () => {
      const e = await errorOf(h.client.graphql("query { flow_run( { id }"));
      expect(e).toBeInstanceOf(PrefectliteError);
      const after = await h.client.listProjects();
      expect(after).toEqual([]);
    });

    test("finds projects and the newest flow version by name, and archives a flow", async () => {
      expect(await h.backend.findProject("example")).toBeUndefined();
      const { id: projectId } = await h.backend.createProject("example", "demo");
      expect(await h.backend.findProject("example")).toMatchObject({ id: projectId, name: "example", description: "demo" });
      await registerFlow(h.client, greetFlow(1), "example");
      const second = await registerFlow(h.client, greetFlow(2), "example");
      const latest = (await h.backend.latestFlow("greet", "example"))!;
      expect(latest).toMatchObject({ id: second.id, name: "greet", version: 2, archived: false, project: { id: projectId, name: "example" } });
      expect(await h.backend.latestFlow("greet", "elsewhere")).toBeUndefined();
      await h.backend.archiveFlow(latest.id);
      expect((await h.backend.latestFlow("greet"))!.archived).toBe(true);
      expect(await h.backend.listFlows()).toEqual([]);
    });

    test("creates a flow from a serialized flow, the same one again for its idempotency key, and refuses nonsense", async () => {
      const { id: projectId } = await h.backend.createProject("example");
      const serializedFlow = serializeFlow(greetFlow(1));
      const first = await h.backend.createFlow({ serializedFlow, projectId, idempotencyKey: "k" });
      expect(first).toMatchObject({ version: 1, schedule_left_off: null });
      expect(await h.backend.createFlow({ serializedFlow, projectId, idempotencyKey: "k" })).toEqual(first);
      expect((await errorOf(h.backend.createFlow({ serializedFlow: { nonsense: true } as never, projectId }))).code).toBe("Validation");
    });

    test("reads the run with its flow, the flow group's settings and its Pending task runs", async () => {
      const flowRunId = await doublerRun();
      const run = (await h.backend.readFlowRun(flowRunId))!;
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
      expect(await h.backend.readFlowRun("00000000-0000-7000-8000-000000000000")).toBeUndefined();
      expect(await h.backend.readFlowRunState("00000000-0000-7000-8000-000000000000")).toBeUndefined();
    });

    test("versioned states: each write returns the new version; a stale one is a VersionConflict", async () => {
      const flowRunId = await doublerRun();
      const now = new Date().toISOString();
      expect(await h.backend.setFlowRunState(flowRunId, 1, { type: "Running", message: "go", timestamp: now })).toBe(2);
      expect((await errorOf(h.backend.setFlowRunState(flowRunId, 1, { type: "Success", message: "late", timestamp: now }))).code).toBe("VersionConflict");
      expect(await h.backend.readFlowRunState(flowRunId)).toEqual({ state: "Running", version: 2 });
      const [items] = (await h.backend.readFlowRun(flowRunId))!.task_runs.filter((t) => t.task_slug === "items");
      const versions = await h.backend.setTaskRunStates([
        { taskRunId: items!.id, version: 1, state: { type: "Running", message: "", timestamp: now } },
        { taskRunId: items!.id, version: 2, state: { type: "Success", message: "", timestamp: now } },
      ]);
      expect(versions).toEqual([2, 3]);
      const refused = await errorOf(h.backend.setTaskRunStates([{ taskRunId: items!.id, version: 2, state: { type: "Failed", message: "", timestamp: now } }]));
      expect(refused.code).toBe("VersionConflict");
      expect((await h.backend.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Success", version: 3 });
    });

    test("a write batch — task-run states, logs, the flow run's state — is written whole, or not at all", async () => {
      const flowRunId = await doublerRun();
      const now = new Date().toISOString();
      expect(await h.backend.setFlowRunState(flowRunId, 1, { type: "Running", message: "", timestamp: now })).toBe(2);
      const [items] = (await h.backend.readFlowRun(flowRunId))!.task_runs.filter((t) => t.task_slug === "items");
      const batch = (flowVersion: number) => ({
        taskRunStates: [
          { taskRunId: items!.id, version: 1, state: { type: "Running" as const, message: "", timestamp: now } },
          { taskRunId: items!.id, version: 2, state: { type: "Success" as const, message: "", timestamp: now } },
        ],
        logs: [{ flow_run_id: flowRunId, task_run_id: items!.id, timestamp: now, name: "test", level: "INFO", message: "batched" }],
        flowRunState: { id: flowRunId, version: flowVersion, state: { type: "Success" as const, message: "done", timestamp: now } },
      });
      const logCount = async () => (await one<{ n: number }>("SELECT COUNT(*) AS n FROM log WHERE flow_run_id = $id", flowRunId)).n;
      expect((await errorOf(h.backend.writeBatch(batch(1)))).code).toBe("VersionConflict"); // a stale flow-run version…
      expect((await h.backend.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Pending", version: 1 }); // …writes nothing
      expect(await logCount()).toBe(0);
      expect(await h.backend.writeBatch(batch(2))).toEqual({ taskRunVersions: [2, 3], flowRunVersion: 3 });
      expect(await h.backend.readFlowRunState(flowRunId)).toEqual({ state: "Success", version: 3 });
      expect((await h.backend.readTaskRuns([items!.id]))[0]).toMatchObject({ state: "Success", version: 3 });
      expect(await logCount()).toBe(1);
    });

    test("mapped children are created once, in order; logs, heartbeats and a cancel are recorded", async () => {
      const flowRunId = await doublerRun();
      const children = await h.backend.mappedChildren(flowRunId, "double-1", 3);
      expect(children.map((c) => [c.task_slug, c.map_index, c.version, c.state])).toEqual([
        ["double-1", 0, 1, "Pending"],
        ["double-1", 1, 1, "Pending"],
        ["double-1", 2, 1, "Pending"],
      ]);
      expect((await h.backend.mappedChildren(flowRunId, "double-1", 3)).map((c) => c.id)).toEqual(children.map((c) => c.id));
      await h.backend.writeLogs([{ flow_run_id: flowRunId, task_run_id: children[1]!.id, timestamp: new Date().toISOString(), name: "test", level: "INFO", message: "hello" }]);
      const logs = await h.sql("SELECT task_run_id, message FROM log WHERE flow_run_id = $id", { id: flowRunId });
      expect(logs).toEqual([{ task_run_id: children[1]!.id, message: "hello" }]);
      await h.backend.heartbeat(flowRunId);
      expect((await one<{ heartbeat: string | null }>("SELECT heartbeat FROM flow_run WHERE id = $id", flowRunId)).heartbeat).not.toBeNull();
      expect(await h.backend.cancel(flowRunId)).toBe("Cancelled");
      expect((await errorOf(h.backend.mappedChildren(flowRunId, "no-such-task", 1))).code).toBe("NotFound");
    });

    // The in-process thread writes through a SQLite file of its own; on PostgreSQL it has none yet.
    test("the heartbeat thread beats for a run and sees its cancel, until stopped", async () => {
      const flowRunId = await doublerRun();
      await h.backend.setFlowRunState(flowRunId, 1, { type: "Running", message: "" });
      const beats: boolean[] = [];
      let cancels = 0;
      const watch = h.backend.watchFromThread(flowRunId, { heartbeatMs: 20, cancelPollMs: 20, onBeat: (ok) => beats.push(ok), onCancel: () => cancels++ });
      expect(watch).toBeDefined();
      try {
        await until(() => beats.length > 0, "a beat from the thread");
        expect(beats.every((ok) => ok)).toBe(true);
        expect((await one<{ heartbeat: string | null }>("SELECT heartbeat FROM flow_run WHERE id = $id", flowRunId)).heartbeat).not.toBeNull();
        await h.backend.cancel(flowRunId);
        await until(() => cancels > 0, "the thread to see the cancel");
        expect(watch!.cancelRequested()).toBe(true);
        expect(watch!.alive()).toBe(true);
      } finally {
        watch!.stop();
      }
      expect(watch!.alive()).toBe(false);
    });

    test("an agent registers once, claims the due runs its labels cover with their run config's env, and polls", async () => {
      const flowRunId = await doublerRun({ runConfig: new LocalRun({ env: { GREETING: "hi" }, labels: [] }) });
      const agentId = await h.backend.registerAgent("contract-agent", []);
      expect(await h.backend.registerAgent("contract-agent", [])).toBe(agentId);
      expect(await h.backend.claimRuns(agentId, [], 10)).toEqual([{ id: flowRunId, env: { GREETING: "hi" } }]);
      expect(await h.backend.readFlowRunState(flowRunId)).toMatchObject({ state: "Submitted" });
      expect(await h.backend.claimRuns(agentId, [], 10)).toEqual([]);
      await h.backend.pollRuns(agentId, []);
      const agents = await h.backend.graphql<{ agent: Array<{ id: string; name: string; last_queried: string | null }> }>(`query { agent { id name last_queried } }`);
      expect(agents.agent).toEqual([{ id: agentId, name: "contract-agent", last_queried: expect.any(String) }]);
    });

    test("a run's watcher reads where runs stand, ends an abandoned run once, and writes its log lines", async () => {
      const flowRunId = await doublerRun();
      const missing = "00000000-0000-7000-8000-000000000000";
      expect(await h.backend.runStandings([])).toEqual(new Map());
      expect(await h.backend.runStandings([flowRunId, missing])).toEqual(new Map([[flowRunId, { state: "Scheduled", version: 1 }]]));
      await h.backend.setFlowRunState(flowRunId, 1, { type: "Running", message: "" });
      expect(await h.backend.endAbandonedRun(flowRunId, "Failed", "its process died", "contract")).toEqual({ state: "Failed", changed: true });
      expect(await h.backend.endAbandonedRun(flowRunId, "Failed", "again", "contract")).toEqual({ state: "Failed", changed: false });
      await h.backend.writeRunLogs([]);
      await h.backend.writeRunLogs([{ flowRunId, level: "WARNING", message: "watched", name: "contract-watcher" }]);
      const lines = await h.sql("SELECT name, level, message FROM log WHERE flow_run_id = $id AND name LIKE 'contract%' ORDER BY message", { id: flowRunId });
      expect(lines).toEqual([
        { name: "contract", level: "ERROR", message: "its process died" },
        { name: "contract-watcher", level: "WARNING", message: "watched" },
      ]);
    });

    test("says where a process it starts finds it, and where a person sees a run", async () => {
      if (name === "http") {
        expect(h.backend.location()).toEqual({ apiUrl: h.url, token: undefined });
        expect(h.backend.baseUrl).toBe(h.url!.replace(/\/+$/, ""));
      } else {
        // A process it starts opens the same database (the URL never travels to a process that reports over HTTP).
        expect(h.backend.location()).toEqual({ home: "/the/home", apiUrl: undefined, token: undefined, databaseUrl: h.databaseUrl });
        expect(h.backend.baseUrl).toBeUndefined();
      }
    });
  });

  describe("both backends on one database", () => {
    let database: EmbeddedDatabase;
    let server: ReturnType<typeof startServer>;
    let raw: ReturnType<typeof sqlOn>;
    let inProcess: BackendClient;
    let http: BackendClient;
    let flowRunId: string;
    let drop: () => Promise<void>;

    beforeEach(async () => {
      const fresh = await testDatabase(kind);
      const url = fresh.url;
      drop = fresh.drop;
      database = await openBackend(url);
      raw = sqlOn(url);
      server = startServer({ host: "127.0.0.1", port: 0, schema: await database.schema(), contextFactory: (i) => database.context(i.agentId) });
      inProcess = new BackendClient(embeddedBackend(database));
      http = new BackendClient(new HttpBackend(server.url));
      await inProcess.createProject("run-api");
      const { id: flowId } = await registerFlow(inProcess, doubler, "run-api");
      flowRunId = await inProcess.createFlowRun({ flowId });
    });
    afterEach(async () => {
      await http.close();
      await server.stop();
      await raw.end();
      await database.close();
      await drop();
    });

    test("read the same run, the same task runs, the same state, the same flows and projects", async () => {
      const direct = await inProcess.backend();
      const overHttp = await http.backend();
      const a = await direct.readFlowRun(flowRunId);
      expect(a).toBeDefined();
      expect(a).toEqual((await overHttp.readFlowRun(flowRunId))!);
      expect(await direct.readFlowRunState(flowRunId)).toEqual((await overHttp.readFlowRunState(flowRunId))!);
      const ids = a!.task_runs.map((t) => t.id);
      expect(await direct.readTaskRuns(ids)).toEqual(await overHttp.readTaskRuns(ids));
      expect(await direct.listFlows({ all: true })).toEqual(await overHttp.listFlows({ all: true }));
      expect(await direct.latestFlow("doubler")).toEqual(await overHttp.latestFlow("doubler"));
      expect(await direct.listProjects()).toEqual(await overHttp.listProjects());
    });

    test("a mutation document in-process is all or nothing, as over HTTP", async () => {
      const twoProjects = `mutation ($a: String!, $b: String!) { first: create_project(input: { name: $a }) { id } second: create_project(input: { name: $b }) { id } }`;
      expect((await errorOf(inProcess.graphql(twoProjects, { a: "in-process-new", b: "run-api" }))).message).toContain("run-api");
      expect(await raw.sql("SELECT name FROM project WHERE name = 'in-process-new'")).toEqual([]);
      await inProcess.graphql(twoProjects, { a: "in-process-1", b: "in-process-2" });
      expect(await raw.sql("SELECT COUNT(*) AS n FROM project WHERE name LIKE 'in-process-%'")).toEqual([{ n: 2 }]);
    });
  });
});

describe("connect", () => {
  useTempHome();

  test("chooses the HTTP backend for an API URL, else the embedded database of PREFECTLITE_HOME", async () => {
    const remote = connect({ apiUrl: "http://127.0.0.1:9" });
    expect(await remote.backend()).toBeInstanceOf(HttpBackend);
    const local = connect({ apiUrl: "" });
    try {
      expect(await local.backend()).toBeInstanceOf(ServicesBackend);
      expect((await local.backend()).location()).toMatchObject({ home: settings.home() });
      await local.createProject("here");
      expect((await local.listProjects()).map((p) => p.name)).toEqual(["here"]);
    } finally {
      await local.close();
    }
  });
});

test("an HTTP client whose server cannot be reached fails as Unavailable", async () => {
  const client = new BackendClient(new HttpBackend("http://127.0.0.1:9"));
  const e = await errorOf(client.listProjects());
  expect(e.code).toBe("Unavailable");
});
