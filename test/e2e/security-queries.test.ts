/**
 * The compiled binary's `serve` refuses the queries that used to freeze it (issue 12): nested
 * relations, a where through relations up and down, the same as GETs, a million mapped
 * children in one call, while a second client keeps being answered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { build } from "../../scripts/build.ts";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import { Flow, task } from "../../src/index.ts";
import { openBackend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { tempDir } from "../helpers.ts";
import { cliEnv, collectOutput, listeningUrl } from "./process-helpers.ts";

const double = task({ name: "double" }, (n: number) => n * 2);
const flow = new Flow("dos-target", () => {
  double.map([1, 2, 3]);
});

let binary = "";
let home = "";
let serve: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let url = "";
let flowRunId = "";

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  home = tempDir("prefectlite-dos-home-");
  // 100 runs, scheduled far ahead so the server's agent leaves them alone.
  const backend = await openBackend(join(home, "prefectlite.db"));
  const client = new BackendClient(embeddedBackend(backend));
  await client.createProject("dos");
  const { id: flowId } = await registerFlow(client, flow, "dos");
  for (let i = 0; i < 100; i++) {
    const id = await client.createFlowRun({ flowId, runName: `run-${i}`, scheduledStartTime: new Date(Date.now() + 365 * 86_400_000) });
    flowRunId ||= id;
  }
  await client.close();
  await backend.close();

  serve = Bun.spawn([binary, "serve", "--port", "0"], { env: cliEnv({ PREFECTLITE_HOME: home }), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const output = collectOutput(serve);
  url = await listeningUrl(output);
}, 120_000);

afterAll(async () => {
  if (serve) {
    serve.kill("SIGTERM");
    await serve.exited;
  }
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

type Body = { data?: any; errors?: Array<{ message: string; extensions?: { code?: string; limit?: string } }> };

async function post(query: string, variables?: Record<string, unknown>): Promise<Body> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Body;
}

async function get(query: string): Promise<Body> {
  const res = await fetch(`${url}/graphql?${new URLSearchParams({ query })}`, { headers: { accept: "application/json" } });
  return (await res.json()) as Body;
}

const NESTED_8 = `{ flow_run(limit: 1) { flow { flow_runs { flow { flow_runs { flow { flow_runs { flow { flow_runs { id } } } } } } } } } }`;
const WHERE_4 = `{ flow_run_aggregate(where: { flow: { flow_runs: { flow: { flow_runs: { name: { _eq: "x" } } } } } }) { aggregate { count } } }`;
const MILLION = `mutation ($id: String!) { get_or_create_mapped_task_runs(input: { flow_run_id: $id, task_slug: "double-1", count: 1000000 }) { task_runs { id } } }`;

const messageOf = (body: Body) => {
  expect(body.data ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  return body.errors![0]!.message;
};

describe("serve (the compiled binary) under the issue's queries", () => {
  test("refuses each of them over POST and GET, and answers a second client meanwhile", async () => {
    const [nestedPost, wherePost, nestedGet, whereGet, million, second] = await Promise.all([
      post(NESTED_8),
      post(WHERE_4),
      get(NESTED_8),
      get(WHERE_4),
      post(MILLION, { id: flowRunId }),
      post(`{ hello flow_run_aggregate { aggregate { count } } }`),
    ]);
    expect(second).toEqual({ data: { hello: "👋", flow_run_aggregate: { aggregate: { count: 100 } } } });
    for (const nested of [nestedPost, nestedGet]) {
      expect(messageOf(nested)).toContain("could return up to 1,002,002,002,002 rows");
      expect(nested.errors![0]!.extensions).toMatchObject({ code: "VALIDATION", limit: "PREFECTLITE_MAX_QUERY_ROWS" });
    }
    for (const where of [wherePost, whereGet]) expect(messageOf(where)).toContain("back down through the list 'flow_runs'");
    expect(messageOf(million)).toContain("more than 10000 children per call (PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL)");
  });

  test("is still answering afterwards, and created no children for the refused call", async () => {
    expect(await get(`{ hello }`)).toEqual({ data: { hello: "👋" } });
    const children = await post(`query ($id: uuid!) { task_run_aggregate(where: { flow_run_id: { _eq: $id }, map_index: { _gte: 0 } }) { aggregate { count } } }`, { id: flowRunId });
    expect(children).toEqual({ data: { task_run_aggregate: { aggregate: { count: 0 } } } });
  });
});
