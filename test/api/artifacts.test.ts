import { afterAll, beforeAll, expect, test } from "bun:test";
import type { GraphQLSchema } from "graphql";
import type { ApiContext } from "../../src/api/context.ts";
import { executeGraphQL } from "../../src/api/execute.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { DEFAULT_TENANT } from "../../src/core/tenant.ts";
import { MAX_ARTIFACT_BYTES } from "../../src/services/artifacts.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { describeBackends, openTestStorage, type StoreKind, type TestStorage } from "../storage-helpers.ts";
import { id, seedDatabase } from "../storage/query-seed.ts";

// Prefect Server's task run artifacts: its mutations' wire form, read back through task_run.artifacts.

describeBackends((kind: StoreKind) => {
  let t: TestStorage;
  let schema: GraphQLSchema;
  let context: ApiContext;

  beforeAll(async () => {
    t = await openTestStorage(kind);
    await seedDatabase(t);
    schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
    context = { services: createServices(t.store), reads: createReadModel(t.storage.query), agentId: undefined };
  });

  afterAll(async () => {
    await t.close();
  });

  type Result = { data?: any; errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }> };
  const run = async (query: string, variables?: Record<string, unknown>): Promise<Result> =>
    JSON.parse(JSON.stringify(await executeGraphQL(schema, query, variables, context)));

  const CREATE = `mutation ($input: create_task_run_artifact_input!) { create_task_run_artifact(input: $input) { id } }`;
  const UPDATE = `mutation ($input: update_task_run_artifact_input!) { update_task_run_artifact(input: $input) { success } }`;
  const DELETE = `mutation ($input: delete_task_run_artifact_input!) { delete_task_run_artifact(input: $input) { success } }`;
  const READ = `query ($id: uuid!) {
    task_run_by_pk(id: $id) {
      artifacts(order_by: { created: asc }) { id kind data tenant_id task_run_id }
      task_run_artifacts_aggregate { aggregate { count } }
    }
  }`;

  test("create, read (task_run.artifacts and task_run_artifacts), update and delete an artifact", async () => {
    const link = await run(CREATE, { input: { task_run_id: id(40), kind: "link", data: { link: "https://example.com/report" }, tenant_id: DEFAULT_TENANT.id } });
    expect(link.errors).toBeUndefined();
    const artifactId = link.data.create_task_run_artifact.id;
    const markdown = await run(CREATE, { input: { task_run_id: id(40), kind: "markdown", data: { markdown: "# Done" } } });
    expect(markdown.errors).toBeUndefined();

    let read = await run(READ, { id: id(40) });
    expect(read.data.task_run_by_pk.artifacts).toEqual([
      { id: artifactId, kind: "link", data: { link: "https://example.com/report" }, tenant_id: DEFAULT_TENANT.id, task_run_id: id(40) },
      { id: markdown.data.create_task_run_artifact.id, kind: "markdown", data: { markdown: "# Done" }, tenant_id: DEFAULT_TENANT.id, task_run_id: id(40) },
    ]);
    expect(read.data.task_run_by_pk.task_run_artifacts_aggregate.aggregate.count).toBe(2);

    expect((await run(UPDATE, { input: { task_run_artifact_id: artifactId, data: { link: "https://example.com/v2" } } })).data).toEqual({
      update_task_run_artifact: { success: true },
    });
    const updated = await run(`{ task_run_artifact_by_pk(id: "${artifactId}") { data } }`);
    expect(updated.data.task_run_artifact_by_pk.data).toEqual({ link: "https://example.com/v2" });

    expect((await run(DELETE, { input: { task_run_artifact_id: artifactId } })).data).toEqual({ delete_task_run_artifact: { success: true } });
    read = await run(READ, { id: id(40) });
    expect(read.data.task_run_by_pk.artifacts.map((a: any) => a.kind)).toEqual(["markdown"]);
  });

  test("refused: an unknown task run or artifact, another tenant, data past 1 MB", async () => {
    const unknownRun = await run(CREATE, { input: { task_run_id: id(999), kind: "link", data: { link: "x" } } });
    expect(unknownRun.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    expect(unknownRun.errors![0]!.message).toMatch(/Task run .* not found/);

    const otherTenant = await run(CREATE, { input: { task_run_id: id(40), kind: "link", data: {}, tenant_id: id(1) } });
    expect(otherTenant.errors![0]!.extensions!.code).toBe("VALIDATION");
    expect(otherTenant.errors![0]!.message).toMatch(/tenant_id/);

    const big = { markdown: "x".repeat(MAX_ARTIFACT_BYTES) };
    const tooBig = await run(CREATE, { input: { task_run_id: id(40), kind: "markdown", data: big } });
    expect(tooBig.errors![0]!.extensions!.code).toBe("VALIDATION");
    expect(tooBig.errors![0]!.message).toMatch(/more than an artifact may hold/);

    const gone = await run(UPDATE, { input: { task_run_artifact_id: id(998), data: {} } });
    expect(gone.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    const goneDelete = await run(DELETE, { input: { task_run_artifact_id: id(998) } });
    expect(goneDelete.errors![0]!.extensions!.code).toBe("NOT_FOUND");
  });
});
