/**
 * Prefect 1.4.1's `flow.register()` and `prefect agent local start` as they speak to the server
 * (issue 16, points 3 and 5), in their observed wire form: POST /, `X-Prefect-Core-Version`,
 * create_flow_from_compressed_string, then register_tasks and register_edges (in batches), and
 * the agent's get_runs_in_queue. Written from those facts; no Prefect code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { startServer, type RunningServer } from "../../src/server/serve.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { openStorage, type Storage } from "../../src/storage/open.ts";
import { compress, prefectFlow, splitForRegistration } from "../services/prefect-fixtures.ts";
import { serializedFlow } from "../services/fixtures.ts";

let server: RunningServer;
let storage: Storage;
let projectId: string;

beforeAll(async () => {
  storage = await openStorage(":memory:");
  const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
  const services = createServices(storage.store);
  const reads = createReadModel(storage.query);
  server = startServer({
    host: "127.0.0.1",
    port: 0,
    schema,
    contextFactory: ({ agentId, prefectCoreVersion }) => ({ services, reads, agentId, prefectCoreVersion }),
  });
  projectId = (await services.createProject({ name: "py" })).id;
});

afterAll(async () => {
  await server?.stop();
  await storage?.close();
});

/** A document as Prefect's client sends it: POST /, variables as a JSON string, its version header (unless told otherwise). */
async function gql(query: string, variables: unknown, headers: Record<string, string> = { "x-prefect-core-version": "1.4.1" }) {
  const res = await fetch(`${server.url}/`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables: JSON.stringify(variables) }),
  });
  return (await res.json()) as { data?: any; errors?: Array<{ message: string }> };
}

const CREATE = `mutation($input: create_flow_from_compressed_string_input!) { create_flow_from_compressed_string(input: $input) { id } }`;
const TASKS = `mutation($input: register_tasks_input!) { register_tasks(input: $input) { success } }`;
const EDGES = `mutation($input: register_edges_input!) { register_edges(input: $input) { success } }`;

async function registerLikePrefect(name: string): Promise<string> {
  const parts = splitForRegistration(prefectFlow(name));
  const created = await gql(CREATE, { input: { project_id: projectId, serialized_flow: compress(parts.flow), set_schedule_active: false, version_group_id: null } });
  expect(created.errors).toBeUndefined();
  const flowId = created.data.create_flow_from_compressed_string.id as string;
  // The client sends its batches of 500 until past the end: an empty batch comes too.
  for (const batch of [parts.tasks.slice(0, 2), parts.tasks.slice(2), []]) {
    expect(await gql(TASKS, { input: { flow_id: flowId, serialized_tasks: batch } })).toEqual({ data: { register_tasks: { success: true } } });
  }
  expect(await gql(EDGES, { input: { flow_id: flowId, serialized_edges: parts.edges } })).toEqual({ data: { register_edges: { success: true } } });
  return flowId;
}

describe("Prefect 1's flow.register()", () => {
  test("registers the Python flow with its tasks and edges, readable as Prefect's client reads it", async () => {
    const flowId = await registerLikePrefect("py-wire");
    const read = await gql(`query ($id: uuid!) { flow_by_pk(id: $id) { name version core_version run_config storage tasks(order_by: { slug: asc }, limit: 10) { slug type max_retries } edges(limit: 10) { mapped } } }`, { id: flowId });
    expect(read.errors).toBeUndefined();
    const flow = read.data.flow_by_pk;
    expect(flow).toMatchObject({ name: "py-wire", version: 1, core_version: "1.4.1", run_config: { type: "LocalRun", labels: ["py"] }, storage: { type: "Local" } });
    expect(flow.tasks.map((t: { slug: string }) => t.slug)).toEqual(["[1, 2]-1", "add-a-1", "n", "say-1", "say-2"]);
    expect(flow.tasks[1]).toEqual({ slug: "add-a-1", type: "prefect.tasks.core.function.FunctionTask", max_retries: 2 });
    expect(flow.edges.filter((e: { mapped: boolean }) => e.mapped).length).toBe(1);
  });

  test("a string that is not base64 gzip is one GraphQL error", async () => {
    const r = await gql(CREATE, { input: { project_id: projectId, serialized_flow: "H4sI-garbage" } });
    expect(r.errors?.[0]?.message).toBe("Unable to decompress serialized flow");
  });

  test("an edge to an unknown slug is a GraphQL error naming the problem", async () => {
    const flowId = await registerLikePrefect("py-bad-edge");
    const r = await gql(EDGES, { input: { flow_id: flowId, serialized_edges: [{ upstream_task: { slug: "n" }, downstream_task: { slug: "ghost-1" }, key: "x", mapped: false }] } });
    expect(r.errors?.[0]?.message).toContain("some edges reference tasks that do not exist within this flow");
  });
});

describe("Prefect's agent and prefectlite's flows", () => {
  test("get_runs_in_queue with X-Prefect-Core-Version lists the Python flow's runs only; without it, every due run", async () => {
    const python = await registerLikePrefect("py-queued");
    const created = await gql(`mutation($input: create_flow_input!) { create_flow(input: $input) { id } }`, { input: { project_id: projectId, serialized_flow: serializedFlow({ name: "ts-queued" }) } });
    const typescript = created.data.create_flow.id;
    const runOf = async (flowId: string) =>
      (await gql(`mutation($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, { input: { flow_id: flowId, labels: [] } })).data.create_flow_run.id as string;
    const [pyRun, tsRun] = [await runOf(python), await runOf(typescript)];
    const queue = `mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`;
    const future = new Date(Date.now() + 60_000).toISOString();
    const asPrefect = await gql(queue, { input: { before: future, labels: [], tenant_id: "00000000-0000-4000-8000-000000000000" } });
    expect(asPrefect.data.get_runs_in_queue.flow_run_ids).toEqual([pyRun]);
    const asOther = await gql(queue, { input: { before: future, labels: [] } }, {});
    expect(asOther.data.get_runs_in_queue.flow_run_ids).toEqual([pyRun, tsRun]);
  });
});
