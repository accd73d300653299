import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { ApiContext } from "../../src/api/context.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { bearerTokenMatches } from "../../src/server/app.ts";
import { requiresToken, startServer, type RunningServer } from "../../src/server/serve.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { PrefectliteError } from "../../src/core/errors.ts";
import { sqlitePathOf } from "../../src/settings.ts";
import { id, seed } from "../storage/query-seed.ts";
import { openTestStorage, type TestStorage } from "../storage-helpers.ts";

let t: TestStorage;
let open: RunningServer;
let guarded: RunningServer;
let grouped: RunningServer;
const seenAgentIds: Array<string | undefined> = [];
const TOKEN = "s3cret-token";

beforeAll(async () => {
  t = await openTestStorage();
  const seeding = new Database(sqlitePathOf(t.url)!, { strict: true });
  seeding.transaction(() => seed(seeding))();
  seeding.close();
  const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
  const services = createServices(t.store);
  const reads = createReadModel(t.storage.query);
  const contextFactory = ({ agentId }: { agentId: string | undefined }): ApiContext => {
    seenAgentIds.push(agentId);
    return { services, reads, agentId };
  };
  open = startServer({ host: "127.0.0.1", port: 0, schema, contextFactory });
  guarded = startServer({ host: "127.0.0.1", port: 0, token: TOKEN, schema, contextFactory });
  // Every mutation document one store transaction (documents arriving together share a commit).
  const writes = { run: <T>(fn: () => Promise<T>) => t.store.transaction(fn) };
  grouped = startServer({ host: "127.0.0.1", port: 0, schema, contextFactory: (info) => ({ ...contextFactory(info), writes }) });
});

afterAll(async () => {
  await open?.stop();
  await guarded?.stop();
  await grouped?.stop();
  await t?.close();
});

function post(server: RunningServer, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

const gql = (query: string, variables?: unknown) => JSON.stringify({ query, variables });

describe("the HTTP server", () => {
  test("a mutation whose group fails gets a GraphQL error with the failure's code, not a 500", async () => {
    const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
    const services = createServices(t.store);
    const reads = createReadModel(t.storage.query);
    const writes = { run: () => Promise.reject(new PrefectliteError("Unavailable", "the server is shutting down: the write was not made")) };
    const failing = startServer({ host: "127.0.0.1", port: 0, schema, contextFactory: ({ agentId }) => ({ services, reads, agentId, writes }) });
    try {
      const res = await post(failing, gql(`mutation { create_project(input: { name: "never" }) { id } }`));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        errors: [{ message: "the server is shutting down: the write was not made", extensions: { code: "UNAVAILABLE" } }],
      });
      const read = (await (await post(failing, gql(`{ project(where: { name: { _eq: "never" } }) { id } }`))).json()) as any;
      expect(read.data.project).toEqual([]);
    } finally {
      await failing.stop();
    }
  });

  test("concurrent mutations under group commit: each answered on its own, a refused one changes nothing", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `grouped-${i}`);
    names[7] = "grouped-3"; // a duplicate name: refused, and only it is rolled back
    const answers = await Promise.all(
      names.map(async (name) => (await post(grouped, gql(`mutation ($name: String!) { create_project(input: { name: $name }) { id } }`, { name }))).json()),
    );
    const refused = answers.filter((a: any) => a.errors);
    expect(refused).toHaveLength(1);
    expect((refused[0] as any).errors[0]).toMatchObject({ message: "Uniqueness violation.", extensions: { detail: "Project 'grouped-3' already exists" } });
    const stored = await t.sql<{ name: string }>("SELECT name FROM project WHERE name LIKE 'grouped-%' ORDER BY name");
    expect(stored.map((r) => r.name)).toEqual([...new Set(names)].sort());
    const read = (await (await post(grouped, gql(`{ project(where: { name: { _like: "grouped-%" } }) { name } }`))).json()) as any;
    expect(read.data.project).toHaveLength(11);
  });

  test("a mutation document is all or nothing: when one of its fields fails, the others' writes are rolled back", async () => {
    const twoProjects = `mutation ($a: String!, $b: String!) { first: create_project(input: { name: $a }) { id } second: create_project(input: { name: $b }) { id } }`;
    const refused = (await (await post(grouped, gql(twoProjects, { a: "atomic-new", b: "alpha" }))).json()) as any; // "alpha" exists
    expect(refused.data).toBeNull();
    expect(refused.errors[0].extensions.detail).toContain("alpha");
    expect(await t.sql("SELECT name FROM project WHERE name = 'atomic-new'")).toEqual([]);
    const written = (await (await post(grouped, gql(twoProjects, { a: "atomic-1", b: "atomic-2" }))).json()) as any;
    expect(Object.keys(written.data)).toEqual(["first", "second"]);
    expect((await t.sql<{ name: string }>("SELECT name FROM project WHERE name LIKE 'atomic-%' ORDER BY name")).map((r) => r.name)).toEqual([
      "atomic-1",
      "atomic-2",
    ]);
  });

  test("listens on a free port and answers /health", async () => {
    expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(open.port).toBeGreaterThan(0);
    const res = await fetch(`${open.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("POST /graphql runs queries and mutations", async () => {
    const res = await post(open, gql(`query ($id: uuid!) { flow_run_by_pk(id: $id) { name flow { name } } }`, { id: id(30) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { flow_run_by_pk: { name: "first", flow: { name: "etl" } } } });
    const created = await post(open, gql(`mutation { create_project(input: { name: "over-http" }) { id } }`));
    const body = (await created.json()) as any;
    expect(body.data.create_project.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("GET /graphql runs a query from the URL", async () => {
    const res = await fetch(`${open.url}/graphql?query=${encodeURIComponent("{ project(order_by: { name: asc }, limit: 1) { name } }")}`);
    expect(await res.json()).toEqual({ data: { project: [{ name: "alpha" }] } });
  });

  test("the X-Prefect-Agent-Id header reaches the context", async () => {
    seenAgentIds.length = 0;
    await post(open, gql("{ hello }"), { "X-Prefect-Agent-Id": id(7) });
    await post(open, gql("{ hello }"));
    expect(seenAgentIds).toEqual([id(7), undefined]);
  });

  test("service errors come back as GraphQL errors with their code", async () => {
    const res = await post(open, gql(`mutation { cancel_flow_run(input: { flow_run_id: "${id(999)}" }) { state } }`));
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe("NOT_FOUND");
    expect(body.errors[0].message).toContain(id(999));
  });

  test("malformed JSON, malformed documents and unknown fields are errors, and the server keeps serving", async () => {
    const badJson = await post(open, "{ not json");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as any).errors[0].message).toBeString();
    const syntax = await post(open, gql("{ flow_run { name "));
    const syntaxBody = (await syntax.json()) as any;
    expect(syntaxBody.errors[0].message).toMatch(/Syntax Error/);
    const unknown = await post(open, gql("{ flow_run { nope } }"));
    const unknownBody = (await unknown.json()) as any;
    expect(unknownBody.errors[0].message).toMatch(/Cannot query field "nope"/);
    expect(unknownBody.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const noQuery = await post(open, JSON.stringify({ variables: {} }));
    expect(((await noQuery.json()) as any).errors[0].message).toMatch(/query/i);
    const ok = await post(open, gql("{ hello }"));
    expect(await ok.json()).toEqual({ data: { hello: "👋" } });
  });

  test("bodies over 1 MB are refused with 413 and a clear message", async () => {
    const big = gql(`{ project(where: { name: { _eq: "${"x".repeat(1024 * 1024)}" } }) { id } }`);
    const res = await post(open, big);
    expect(res.status).toBe(413);
    const body = (await res.json()) as any;
    expect(body.errors[0].message).toBe("request body too large: the limit is 1 MB");
    const chunked = await fetch(`${open.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([big]).stream(),
    });
    expect(chunked.status).toBe(413);
    const ok = await post(open, gql(`{ project(where: { name: { _eq: "${"x".repeat(1000 * 1000)}" } }) { id } }`));
    expect(await ok.json()).toEqual({ data: { project: [] } });
  });

  test("requests yoga serves (other Accept headers, GET) answer like the JSON fast path", async () => {
    const accept = { accept: "application/graphql-response+json" };
    const ok = await post(open, gql(`{ project_by_pk(id: "${id(1)}") { name } }`), accept);
    expect(await ok.json()).toEqual({ data: { project_by_pk: { name: "alpha" } } });
    const notFound = await post(open, gql(`mutation { cancel_flow_run(input: { flow_run_id: "${id(999)}" }) { state } }`), accept);
    expect(((await notFound.json()) as any).errors[0].extensions.code).toBe("NOT_FOUND");
    const invalid = await fetch(`${open.url}/graphql?query=${encodeURIComponent("{ nope }")}`);
    expect(((await invalid.json()) as any).errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const badJson = await post(open, "{ nope", accept);
    expect(badJson.status).toBe(400);
  });

  test("unknown routes answer 404 JSON", async () => {
    const res = await fetch(`${open.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe("NOT_FOUND");
  });
});

describe("the API token", () => {
  test("is required on /graphql when configured; /health stays open", async () => {
    const none = await post(guarded, gql("{ hello }"));
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await none.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const wrong = await post(guarded, gql("{ hello }"), { Authorization: "Bearer s3cret-tokem" });
    expect(wrong.status).toBe(401);
    const basic = await post(guarded, gql("{ hello }"), { Authorization: `Basic ${TOKEN}` });
    expect(basic.status).toBe(401);
    const get = await fetch(`${guarded.url}/graphql?query=${encodeURIComponent("{ hello }")}`);
    expect(get.status).toBe(401);
    const right = await post(guarded, gql("{ hello }"), { Authorization: `Bearer ${TOKEN}` });
    expect(await right.json()).toEqual({ data: { hello: "👋" } });
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
  });

  test("is checked before the body is read: an unauthenticated oversized body is 401", async () => {
    const res = await post(guarded, "x".repeat(2 * 1024 * 1024));
    expect(res.status).toBe(401);
  });

  test("bearerTokenMatches compares the whole token", () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(undefined, TOKEN)).toBe(false);
    expect(bearerTokenMatches("", TOKEN)).toBe(false);
  });
});

describe("what the server refuses", () => {
  const projectCount = async (name: string) => (await t.sql<{ n: number }>("SELECT count(*) AS n FROM project WHERE name = ?", [name]))[0]!.n;
  const createProject = (name: string) => `mutation { create_project(input: { name: "${name}" }) { id } }`;

  test("a Host it does not answer to (DNS rebinding) gets 421 and one line saying how to allow it, on every route but /health", async () => {
    const host = `evil.example:${open.port}`;
    for (const [path, init] of [
      ["/graphql", { method: "POST", headers: { host, "content-type": "application/json" }, body: gql(createProject("rebound")) }],
      [`/graphql?query=${encodeURIComponent("{ hello }")}`, { headers: { host } }],
      ["/", { headers: { host } }],
      ["/flow-runs", { headers: { host } }],
      ["/nope", { headers: { host } }],
    ] as const) {
      const res = await fetch(`${open.url}${path}`, init as RequestInit);
      expect(res.status).toBe(421);
      const body = (await res.json()) as any;
      expect(body.errors[0].message).toBe(
        `this server does not answer to host '${host}' (a DNS-rebinding page sends its own name): to allow it, add it to PREFECTLITE_ALLOWED_HOSTS (comma-separated, 'name' or 'name:port')`,
      );
      expect(body.errors[0].extensions.code).toBe("MISDIRECTED_REQUEST");
    }
    expect(await projectCount("rebound")).toBe(0);
    expect((await fetch(`${open.url}/health`, { headers: { host } })).status).toBe(200);
    expect((await fetch(`${open.url}/health`, { headers: { host: `localhost:${open.port}` } })).status).toBe(200);
    const ok = await post(open, gql("{ hello }"), { host: `localhost:${open.port}` });
    expect(await ok.json()).toEqual({ data: { hello: "👋" } });
  });

  test("names from the allowed-hosts setting are served", async () => {
    const schema = buildApiSchema();
    const named = startServer({ host: "127.0.0.1", port: 0, allowedHosts: ["prefect.internal", "proxy.lan:8443"], schema, contextFactory: () => ({}) as ApiContext });
    try {
      const ask = (host: string) => fetch(`${named.url}/graphql?query=${encodeURIComponent("{ hello }")}`, { headers: { host } });
      expect((await ask("prefect.internal")).status).toBe(200);
      expect((await ask(`prefect.internal:${named.port}`)).status).toBe(200);
      expect((await ask("proxy.lan:8443")).status).toBe(200);
      expect((await ask("proxy.lan:8444")).status).toBe(421);
      expect((await ask(`127.0.0.1:${named.port}`)).status).toBe(200);
    } finally {
      await named.stop();
    }
  });

  test("a mutation POSTed as a form, multipart, text/plain or with no content type gets 415 and creates nothing", async () => {
    const form = new FormData();
    form.set("query", createProject("from-multipart"));
    const cases: Array<[string, RequestInit]> = [
      ["from-form", { headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ query: createProject("from-form") }).toString() }],
      ["from-multipart", { body: form }],
      ["from-text", { headers: { "content-type": "text/plain" }, body: gql(createProject("from-text")) }],
      ["from-graphql", { headers: { "content-type": "application/graphql" }, body: createProject("from-graphql") }],
      ["from-untyped", { body: new Blob([gql(createProject("from-untyped"))]) }],
    ];
    for (const [name, init] of cases) {
      const res = await fetch(`${open.url}/graphql`, { method: "POST", ...init });
      expect(res.status).toBe(415);
      const body = (await res.json()) as any;
      expect(body.errors[0].message).toStartWith("a GraphQL POST must have Content-Type: application/json (got '");
      expect(body.errors[0].extensions.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(await projectCount(name)).toBe(0);
    }
    const json = await post(open, gql(createProject("from-json")), { "content-type": "application/json; charset=utf-8" });
    expect(((await json.json()) as any).data.create_project.id).toBeString();
    expect(await projectCount("from-json")).toBe(1);
  });

  test("a mutation over GET is refused and creates nothing", async () => {
    const res = await fetch(`${open.url}/graphql?query=${encodeURIComponent(createProject("from-get"))}`);
    expect(res.status).toBe(405);
    expect(((await res.json()) as any).errors[0].message).toBe("Can only perform a mutation operation from a POST request.");
    expect(await projectCount("from-get")).toBe(0);
  });

  test("a browser request from another site (Sec-Fetch-Site) is refused, even a GET query", async () => {
    for (const site of ["cross-site", "same-site"]) {
      const get = await fetch(`${open.url}/graphql?query=${encodeURIComponent("{ hello }")}`, { headers: { "sec-fetch-site": site } });
      expect(get.status).toBe(403);
      expect(((await get.json()) as any).errors[0].message).toBe("cross-site request refused: web pages of other sites may not use this server's API");
    }
    const sameOrigin = await post(open, gql("{ hello }"), { "sec-fetch-site": "same-origin" });
    expect(await sameOrigin.json()).toEqual({ data: { hello: "👋" } });
  });

  test("a port another server listens on is refused with one line naming it", () => {
    let error: unknown;
    try {
      startServer({ host: "127.0.0.1", port: open.port, schema: buildApiSchema(), contextFactory: () => ({}) as ApiContext });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrefectliteError);
    expect((error as PrefectliteError).code).toBe("Conflict");
    expect((error as PrefectliteError).message).toBe(
      `port ${open.port} is already in use on 127.0.0.1 (another prefectlite serve?): stop that process or choose another --port`,
    );
  });

  test("repeated wrong bearer tokens lock the address out (429), the right token included", async () => {
    const limited = startServer({ host: "127.0.0.1", port: 0, token: TOKEN, schema: buildApiSchema(), contextFactory: () => ({}) as ApiContext });
    try {
      const ask = (token?: string) => post(limited, gql("{ hello }"), token ? { authorization: `Bearer ${token}` } : {});
      for (let i = 0; i < 20; i++) expect((await ask()).status).toBe(401); // no token is no guess
      expect(await (await ask(TOKEN)).json()).toEqual({ data: { hello: "👋" } });
      for (let i = 0; i <= 10; i++) expect((await ask(`guess-${i}`)).status).toBe(401);
      const locked = await ask(TOKEN);
      expect(locked.status).toBe(429);
      expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await locked.json()) as any).errors[0].message).toMatch(/^too many wrong API tokens from your address: try again in \d+ s$/);
    } finally {
      await limited.stop();
    }
  });
});

describe("binding addresses", () => {
  test("only loopback addresses may serve without a token", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"]) expect(requiresToken(host)).toBe(false);
    for (const host of ["0.0.0.0", "192.168.1.5", "::", "example.com", "127.0.0.1.example.com", "128.0.0.1"]) expect(requiresToken(host)).toBe(true);
  });

  test("startServer refuses a non-loopback host without a token", () => {
    expect(() => startServer({ host: "0.0.0.0", port: 0, schema: buildApiSchema(), contextFactory: () => ({}) as ApiContext })).toThrow(
      /needs an API token/,
    );
  });
});
