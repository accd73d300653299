import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { printSchema, type GraphQLSchema } from "graphql";
import type { ApiContext } from "../../src/api/context.ts";
import { INTERNAL_ERROR_MESSAGE } from "../../src/api/errors.ts";
import { executeGraphQL } from "../../src/api/execute.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel, type ReadModel } from "../../src/services/read-model.ts";
import { describeBackends, openTestStorage, type StoreKind, type TestStorage } from "../storage-helpers.ts";
import { id, seedDatabase, T } from "../storage/query-seed.ts";

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

  async function run(query: string, variables?: Record<string, unknown>, ctx: ApiContext = context): Promise<Result> {
    return JSON.parse(JSON.stringify(await executeGraphQL(schema, query, variables, ctx)));
  }

  async function data(query: string, variables?: Record<string, unknown>) {
    const result = await run(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  describe("the generated schema", () => {
    test("has Hasura's names for every table: type, bool_exp, order_by, root fields", () => {
      const sdl = printSchema(schema);
      for (const table of ["project", "flow", "flow_group", "flow_run", "task", "task_run", "log", "agent"]) {
        expect(sdl).toContain(`type ${table} {`);
        expect(sdl).toContain(`input ${table}_bool_exp {`);
        expect(sdl).toContain(`input ${table}_order_by {`);
        const args = `distinct_on: [${table}_select_column!], where: ${table}_bool_exp, order_by: [${table}_order_by!], limit: Int, offset: Int`;
        expect(sdl).toContain(`  ${table}(${args}): [${table}!]!`);
        expect(sdl).toContain(`  ${table}_by_pk(id: uuid!): ${table}`);
        expect(sdl).toContain(`  ${table}_aggregate(${args}): ${table}_aggregate!`);
      }
      expect(sdl).toContain(
        "task_runs(distinct_on: [task_run_select_column!], where: task_run_bool_exp, order_by: [task_run_order_by!], limit: Int, offset: Int): [task_run!]!",
      );
      expect(sdl).toContain("type Mutation {");
    });

    test("builds without the mutations, and answers hello and api", async () => {
      const queriesOnly = buildApiSchema({ version: "9.9.9" });
      const result = await executeGraphQL(queriesOnly, "{ hello api { backend version } }", {}, context);
      expect(result.data).toEqual({ hello: "👋", api: { backend: "SERVER", version: "9.9.9" } });
      expect(queriesOnly.getMutationType()).toBeUndefined();
    });
  });

  describe("queries", () => {
    test("where, order_by, limit and offset on a root field", async () => {
      const d = await data(`{
        flow_run(where: { _or: [{ state: { _eq: "Success" } }, { name: { _like: "f%" } }] }, order_by: { created: desc }, limit: 5, offset: 0) { name state }
      }`);
      expect(d.flow_run).toEqual([{ name: "fourth", state: "Scheduled" }, { name: "first", state: "Success" }]);
      const paged = await data(`{ flow_run(order_by: [{ flow: { name: desc } }, { name: asc }], limit: 2, offset: 1) { name } }`);
      expect(paged.flow_run.map((r: any) => r.name)).toEqual(["first", "fourth"]);
    });

    test("filters through relations, also with variables typed by the generated inputs", async () => {
      const d = await data(`query ($where: flow_run_bool_exp) { flow_run(where: $where, order_by: { name: asc }) { name } }`, {
        where: { flow: { project: { name: { _eq: "alpha" } } }, task_runs: { state: { _eq: "Running" } } },
      });
      expect(d.flow_run).toEqual([{ name: "second" }]);
    });

    test("flow_run.flow, task_runs (with arguments), states and logs; task_run.task", async () => {
      const d = await data(`{
        flow_run_by_pk(id: "${id(30)}") {
          name labels parameters auto_scheduled scheduled_start_time
          flow { name version }
          mapped: task_runs(where: { map_index: { _gte: 0 } }, order_by: { map_index: desc }, limit: 2) { map_index state task { slug mapped } }
          all: task_runs { id }
          states(order_by: { version: asc }) { state version }
          logs(where: { level: { _eq: "ERROR" } }) { message info task_run { map_index } }
        }
      }`);
      expect(d.flow_run_by_pk).toEqual({
        name: "first",
        labels: ["a", "b"],
        parameters: { x: 30 },
        auto_scheduled: false,
        scheduled_start_time: T(10),
        flow: { name: "etl", version: 2 },
        mapped: [
          { map_index: 2, state: "Success", task: { slug: "load-1", mapped: true } },
          { map_index: 1, state: "Failed", task: { slug: "load-1", mapped: true } },
        ],
        all: [{ id: id(40) }, { id: id(41) }, { id: id(42) }, { id: id(43) }, { id: id(44) }],
        states: [{ state: "Scheduled", version: 1 }, { state: "Running", version: 2 }, { state: "Success", version: 3 }],
        logs: [{ message: "100% broken_thing", info: { n: 62 }, task_run: { map_index: 1 } }],
      });
    });

    test("a task run's state is its type; serialized_state holds the result location", async () => {
      const d = await data(`{ task_run_by_pk(id: "${id(42)}") { state serialized_state flow_run { name } } }`);
      expect(d.task_run_by_pk).toEqual({ state: "Success", serialized_state: { type: "Success", _result: { location: "/r/42" } }, flow_run: { name: "first" } });
    });

    test("flow.project and flow.flow_group; project.flows; list relations per parent over many parents", async () => {
      const d = await data(`{
        flow(order_by: [{ name: asc }, { version: asc }]) { version archived project { name } flow_group { name labels settings } }
        project(order_by: { name: asc }) { name flows(order_by: { version: desc }, limit: 1) { name version } }
        flow_run(order_by: { name: asc }) { name task_runs(order_by: { created: asc }, limit: 1) { task_slug } }
      }`);
      expect(d.flow.map((f: any) => [f.version, f.archived, f.project.name, f.flow_group.name])).toEqual([
        [1, true, "alpha", "vg-etl"],
        [2, false, "alpha", "vg-etl"],
        [1, false, "beta", "vg-report"],
      ]);
      expect(d.flow[0].flow_group.labels).toEqual(["a"]);
      expect(d.flow[0].flow_group.settings.heartbeat_enabled).toBe(true);
      expect(d.project).toEqual([
        { name: "alpha", flows: [{ name: "etl", version: 2 }] },
        { name: "beta", flows: [{ name: "report", version: 1 }] },
      ]);
      expect(d.flow_run.map((r: any) => [r.name, r.task_runs.map((t: any) => t.task_slug)])).toEqual([
        ["first", ["extract-1"]],
        ["fourth", []],
        ["second", ["extract-1"]],
        ["third", []],
      ]);
    });

    test("nested relations load once per level, not once per row", async () => {
      const calls: string[] = [];
      const reads = createReadModel(t.storage.query);
      const counting: ReadModel = {
        ...reads,
        select: (...a) => (calls.push(`select ${a[0]}`), reads.select(...a)),
        loadRelation: (...a) => (calls.push(`${a[0]}.${a[1]}`), reads.loadRelation(...a)),
      };
      // Limits on the nested lists keep the rows estimate (limits multiply) within PREFECTLITE_MAX_QUERY_ROWS.
      const r = await run(`{ flow_run(limit: 10) { name flow { project { name } } task_runs(limit: 10) { task { slug } states(limit: 10) { state } } } }`, {}, {
        ...context,
        reads: counting,
      });
      expect(r.errors).toBeUndefined();
      expect(calls.sort()).toEqual(["flow.project", "flow_run.flow", "flow_run.task_runs", "select flow_run", "task_run.states", "task_run.task"]);
    });

    test("by_pk answers null for an unknown id; aggregate counts", async () => {
      const d = await data(`{
        flow_run_by_pk(id: "${id(999)}") { name }
        all: flow_run_aggregate { aggregate { count } }
        failed: task_run_aggregate(where: { state: { _eq: "Failed" } }) { aggregate { count } }
      }`);
      expect(d).toEqual({ flow_run_by_pk: null, all: { aggregate: { count: 4 } }, failed: { aggregate: { count: 1 } } });
    });

    test("list relations have <relation>_aggregate counts per parent, counted in one query", async () => {
      const calls: string[] = [];
      const reads = createReadModel(t.storage.query);
      const counting: ReadModel = { ...reads, aggregateRelation: (...a) => (calls.push(`${a[0]}.${a[1]}`), reads.aggregateRelation(...a)) };
      const r = await run(
        `{ flow_run(order_by: { name: asc }) { name all: task_runs_aggregate { aggregate { count } } ok: task_runs_aggregate(where: { state: { _eq: "Success" } }) { aggregate { count } } } }`,
        {},
        { ...context, reads: counting },
      );
      expect(r.data.flow_run.map((f: any) => [f.name, f.all.aggregate.count, f.ok.aggregate.count])).toEqual([
        ["first", 5, 3],
        ["fourth", 0, 0],
        ["second", 1, 0],
        ["third", 0, 0],
      ]);
      expect(calls).toEqual(["flow_run.task_runs", "flow_run.task_runs"]);
    });

    test("fragments, aliases and __typename work", async () => {
      const d = await data(`
        query { a: flow_run(where: { name: { _eq: "third" } }) { ...F __typename } }
        fragment F on flow_run { name flow { ... on flow { name } } }
      `);
      expect(d.a).toEqual([{ name: "third", flow: { name: "report" }, __typename: "flow_run" }]);
    });
  });

  describe("errors", () => {
    test("malformed documents are GraphQL errors with a code", async () => {
      const syntax = await run(`{ flow_run { name `);
      expect(syntax.errors![0]!.message).toMatch(/Syntax Error/);
      expect(syntax.errors![0]!.extensions!.code).toBe("GRAPHQL_PARSE_FAILED");
      const empty = await run("");
      expect(empty.errors![0]!.extensions!.code).toBe("GRAPHQL_PARSE_FAILED");
    });

    test("unknown fields, columns and operators are validation errors", async () => {
      for (const query of [`{ flow_run { nope } }`, `{ nope }`, `{ flow_run(where: { nope: { _eq: 1 } }) { name } }`, `{ flow_run(where: { name: { _regex: "x" } }) { name } }`, `{ flow_run(order_by: { task_runs: { name: asc } }) { name } }`]) {
        const r = await run(query);
        expect(r.data).toBeUndefined();
        expect(r.errors![0]!.extensions!.code).toBe("GRAPHQL_VALIDATION_FAILED");
      }
    });

    test("invalid UUIDs and timestamps are refused, as literals and as variables", async () => {
      const literal = await run(`{ flow_run_by_pk(id: "nope") { name } }`);
      expect(literal.errors![0]!.message).toMatch(/invalid uuid/);
      const variable = await run(`query ($id: uuid!) { flow_run_by_pk(id: $id) { name } }`, { id: "nope" });
      expect(variable.errors![0]!.message).toMatch(/invalid uuid/);
      expect(variable.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
      const time = await run(`{ flow_run(where: { created: { _gt: "soon" } }) { name } }`);
      expect(time.errors![0]!.message).toMatch(/invalid timestamp/);
    });

    test("argument values the compiler refuses are VALIDATION errors of that field", async () => {
      const r = await run(`{ flow_run(limit: -1) { name } ok: hello }`);
      expect(r.errors![0]!.message).toMatch(/limit: expected a non-negative integer/);
      expect(r.errors![0]!.extensions!.code).toBe("VALIDATION");
    });

    test("service errors keep their message and code", async () => {
      const r = await run(`mutation { cancel_flow_run(input: { flow_run_id: "${id(999)}" }) { state } }`);
      expect(r.errors![0]!.extensions!.code).toBe("NOT_FOUND");
    });

    test("an unexpected failure is a generic INTERNAL error, not a crash", async () => {
      const broken: ReadModel = {
        ...createReadModel(t.storage.query),
        select: () => {
          throw new TypeError("secret internals");
        },
      };
      const original = console.error;
      const logged: unknown[] = [];
      console.error = (...args: unknown[]) => void logged.push(args);
      try {
        const r = await run(`{ flow_run { name } }`, {}, { ...context, reads: broken });
        expect(r.errors![0]!.message).toBe(INTERNAL_ERROR_MESSAGE);
        expect(r.errors![0]!.extensions!.code).toBe("INTERNAL");
        expect(JSON.stringify(r)).not.toContain("secret");
        expect(JSON.stringify(logged)).toContain("secret internals");
      } finally {
        console.error = original;
      }
    });
  });
});
