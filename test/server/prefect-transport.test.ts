/**
 * GraphQL as Prefect 1's own client sends it (issue 16, point 1): a JSON POST to the server's
 * root, `variables` as a JSON string ("null" when there are none), Prefect's version header, and
 * the API token as its API key (`Authorization: Bearer`). Written from Prefect's observed wire
 * form; no Prefect code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { startServer, type RunningServer } from "../../src/server/serve.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { openStorage, type Storage } from "../../src/storage/open.ts";

const TOKEN = "prefect-api-key";
let server: RunningServer;
let storage: Storage;

beforeAll(async () => {
  storage = await openStorage(":memory:");
  const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
  const services = createServices(storage.store);
  const reads = createReadModel(storage.query);
  server = startServer({ host: "127.0.0.1", port: 0, token: TOKEN, schema, contextFactory: ({ agentId }) => ({ services, reads, agentId }) });
});

afterAll(async () => {
  await server?.stop();
  await storage?.close();
});

/** A request as Prefect's client makes it: POST to the root, JSON, its headers. */
function prefectPost(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, "x-prefect-core-version": "1.4.1", ...headers },
    body: JSON.stringify(body),
  });
}

describe("GraphQL as Prefect 1's client sends it", () => {
  test("a JSON POST to / is the GraphQL endpoint, with variables as the string \"null\" meaning none", async () => {
    const res = await prefectPost({ query: `mutation { create_project(input: { name: "from-prefect" }) { id } }`, variables: "null" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { create_project: { id: string } } };
    expect(body.data.create_project.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("variables as a JSON string holding an object are the variables", async () => {
    const res = await prefectPost({
      query: `query ($name: String) { project(where: { name: { _eq: $name } }) { name } }`,
      variables: JSON.stringify({ name: "from-prefect" }),
    });
    expect(await res.json()).toEqual({ data: { project: [{ name: "from-prefect" }] } });
  });

  test("variables that are neither an object nor a string of one are refused with one line", async () => {
    for (const variables of ["[1, 2]", "not json", 5]) {
      const res = await prefectPost({ query: "{ project { name } }", variables });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
        'variables must be a JSON object, or a string holding one ("null" for none)',
      );
    }
  });

  test("the root keeps the rules of /graphql: the token, JSON bodies only", async () => {
    const noKey = await fetch(`${server.url}/`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ project { name } }" }) });
    expect(noKey.status).toBe(401);
    const form = await fetch(`${server.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${TOKEN}` },
      body: "query=mutation{create_project(input:{name:\"x\"}){id}}",
    });
    expect(form.status).toBe(415);
    const listed = await prefectPost({ query: `{ project(where: { name: { _eq: "x" } }) { name } }`, variables: "null" });
    expect(await listed.json()).toEqual({ data: { project: [] } });
  });
});
