/**
 * The client contract, run against both transports: in-process on the embedded database and
 * over HTTP to a real server. Each operation must behave the same way through either.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpTransport } from "../../src/client/http-transport.ts";
import { registerFlow } from "../../src/client/register.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { Flow as CoreFlow } from "../../src/core/flow.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { EmbeddedTransport } from "../../src/runtime/embedded-transport.ts";
import { startServer } from "../../src/server/serve.ts";
import { Flow, Parameter, task } from "../../src/index.ts";
import { tempDir, errorOf } from "../helpers.ts";

interface Harness {
  client: BackendClient;
  backend: Backend;
  close(): Promise<void>;
}

function embedded(): Harness {
  const backend = openBackend(join(tempDir(), "prefectlite.db"));
  const client = new BackendClient(new EmbeddedTransport(backend, false));
  return { client, backend, close: async () => backend.close() };
}

function overHttp(): Harness {
  const backend = openBackend(join(tempDir(), "prefectlite.db"));
  const server = startServer({ host: "127.0.0.1", port: 0, schema: backend.schema, contextFactory: (i) => backend.context(i.agentId) });
  const client = new BackendClient(new HttpTransport(server.url));
  return {
    client,
    backend,
    close: async () => {
      await server.stop();
      backend.close();
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


describe.each([
  ["embedded", embedded],
  ["http", overHttp],
] as const)("the client over the %s transport", (_name, open) => {
  let h: Harness;
  beforeEach(() => {
    h = open();
  });
  afterEach(async () => {
    await h.close();
  });

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
});

test("an HTTP client whose server cannot be reached fails as Unavailable", async () => {
  const client = new BackendClient(new HttpTransport("http://127.0.0.1:9"));
  const e = await errorOf(client.listProjects());
  expect(e.code).toBe("Unavailable");
});
