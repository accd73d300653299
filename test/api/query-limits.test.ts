/**
 * Every GraphQL request is bounded before it runs (src/api/query-limits.ts): the cases of issue
 * 12 (the 8-level nested relations, the 4-deep where, both as GETs too, the 1,000,000-children
 * call) and the database's own limits, which surface as validation errors, never "Internal error";
 * on SQLite and on PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { getIntrospectionQuery } from "graphql";
import { executeGraphQL } from "../../src/api/execute.ts";
import { INTERNAL_ERROR_MESSAGE } from "../../src/api/errors.ts";
import type { ApiContext } from "../../src/api/context.ts";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { Flow, task } from "../../src/index.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { createApp } from "../../src/server/app.ts";
import { startServer } from "../../src/server/serve.ts";
import type { ReadModel } from "../../src/services/read-model.ts";
import { describeBackends, sqlOn, testDatabase, type StoreKind } from "../storage-helpers.ts";

const double = task({ name: "double" }, (n: number) => n * 2);
const flow = new Flow("limits", () => {
  double.map([1, 2, 3]);
});

describeBackends((kind: StoreKind) => {
  let backend: Backend;
  let dropDatabase: () => Promise<void>;
  /** The test's own connection to the database, for looking at what was stored. */
  let look: ReturnType<typeof sqlOn>;
  let client: BackendClient;
  let flowRunIds: string[];
  /** Every read the resolvers make, by kind: a refused query must make none. */
  const reads: string[] = [];

  function countingContext(): ApiContext {
    const context = backend.context();
    const r = context.reads;
    const counting: ReadModel = {
      ...r,
      select: (...a) => (reads.push(`select ${a[0]}`), r.select(...a)),
      byPk: (...a) => (reads.push(`byPk ${a[0]}`), r.byPk(...a)),
      count: (...a) => (reads.push(`count ${a[0]}`), r.count(...a)),
      loadRelation: (...a) => (reads.push(`${a[0]}.${a[1]}`), r.loadRelation(...a)),
      countRelation: (...a) => (reads.push(`count ${a[0]}.${a[1]}`), r.countRelation(...a)),
    };
    return { ...context, reads: counting };
  }

  type Result = { data?: any; errors?: Array<{ message: string; extensions?: { code?: string; limit?: string } }> };

  async function run(query: string, variables?: Record<string, unknown>): Promise<Result> {
    return JSON.parse(JSON.stringify(await executeGraphQL(await backend.schema(), query, variables, countingContext())));
  }

  /** The request through yoga (GET), as the server routes it. */
  async function get(query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: Result }> {
    const app = createApp({ schema: await backend.schema(), contextFactory: () => countingContext() });
    const params = new URLSearchParams({ query });
    if (variables) params.set("variables", JSON.stringify(variables));
    const res = await app.request(`http://127.0.0.1/graphql?${params}`, { headers: { accept: "application/json" } });
    return { status: res.status, body: (await res.json()) as Result };
  }

  /**
   * The single error of a refused request, which ran no read at all — or, refused as it ran by the
   * rows bound, at most `reads` batched reads (one per relation level it reached).
   */
  function refusal(result: Result, allowed: { reads: number } = { reads: 0 }): { message: string; code?: string; limit?: string } {
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors!;
    expect(error!.message).not.toContain(INTERNAL_ERROR_MESSAGE);
    if (allowed.reads === 0) expect(reads).toEqual([]);
    else expect(reads.length).toBeLessThanOrEqual(allowed.reads);
    return { message: error!.message, code: error!.extensions?.code, limit: error!.extensions?.limit };
  }
  /** NESTED_8 reads at most once per level: the runs, then each relation of the eight. */
  const NESTED_8_READS = { reads: 9 };

  beforeAll(async () => {
    const database = await testDatabase(kind);
    dropDatabase = database.drop;
    backend = await openBackend(database.url);
    look = sqlOn(database.url);
    client = new BackendClient(embeddedBackend(backend));
    await client.createProject("limits");
    const { id: flowId } = await registerFlow(client, flow, "limits");
    flowRunIds = [];
    for (let i = 0; i < 100; i++) flowRunIds.push(await client.createFlowRun({ flowId, runName: `run-${i}` }));
  });

  afterAll(async () => {
    await client.close();
    await look.end();
    await backend.close();
    await dropDatabase();
  });

  afterEach(() => {
    reads.length = 0;
    delete process.env.PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL;
  });

  const NESTED_8 = `{ flow_run(limit: 1) { flow { flow_runs { flow { flow_runs { flow { flow_runs { flow { flow_runs { id } } } } } } } } } }`;
  const WHERE_4 = `{ flow_run_aggregate(where: { flow: { flow_runs: { flow: { flow_runs: { name: { _eq: "x" } } } } } }) { aggregate { count } } }`;

  describe("the issue's queries are refused, with the limit and how to stay inside it", () => {
    test("8 levels of nested relations over 100 runs: refused once it has returned more rows than the bound", async () => {
      // Its lists have no limits, so it runs under the rows bound (Prefect's documents nest such lists):
      // one batched read per level, each asking for no more rows than are left, and data null at the end.
      const error = refusal(await run(NESTED_8), NESTED_8_READS);
      expect(error.limit).toBe("PREFECTLITE_MAX_QUERY_ROWS");
      expect(error.code).toBe("VALIDATION");
      expect(error.message).toContain("could return up to 1,002,002,002,002 rows");
      expect(error.message).toContain("flow_run.flow.flow_runs.flow.flow_runs.flow.flow_runs.flow.flow_runs");
      expect(error.message).toContain("it returned more than 100,000 rows (PREFECTLITE_MAX_QUERY_ROWS) by flow_run.flow.flow_runs.flow.flow_runs");
      expect(error.message).toContain("give the lists small limit arguments");
    });

    test("a where through 4 relations, up to the flow and back down its runs", async () => {
      const error = refusal(await run(WHERE_4));
      expect(error.code).toBe("VALIDATION");
      expect(error.message).toContain("flow_run_aggregate: where.flow.flow_runs: the where goes up through 'flow' and back down through the list 'flow_runs'");
      expect(error.message).toContain("filter flow_run on its flow_id column instead");
    });

    test("the same as GETs, through yoga", async () => {
      const nested = await get(NESTED_8);
      expect(refusal(nested.body, NESTED_8_READS).limit).toBe("PREFECTLITE_MAX_QUERY_ROWS");
      reads.length = 0;
      const where = await get(WHERE_4);
      expect(refusal(where.body).message).toContain("back down through the list 'flow_runs'");
      // And through variables, which only execution sees.
      const viaVariables = await get(`query ($w: flow_run_bool_exp) { flow_run_aggregate(where: $w) { aggregate { count } } }`, {
        w: { flow: { flow_runs: { flow: { flow_runs: { name: { _eq: "x" } } } } } },
      });
      expect(refusal(viaVariables.body).message).toContain("back down through the list 'flow_runs'");
      const tooDeep = await get(`{ ${"flow_run(limit: 1) { flow { ".repeat(7)}id${" } }".repeat(7)} }`);
      expect(refusal(tooDeep.body).limit).toBe("PREFECTLITE_MAX_QUERY_DEPTH");
    });

    test("another client is answered after a refused query", async () => {
      refusal(await run(NESTED_8), NESTED_8_READS);
      const answered = await run(`{ flow_run_aggregate { aggregate { count } } }`);
      expect(answered).toEqual({ data: { flow_run_aggregate: { aggregate: { count: 100 } } } });
      expect((await get(`{ flow(limit: 1) { name } }`)).body).toEqual({ data: { flow: [{ name: "limits" }] } });
    });

    test("lists without limits past the estimate run under the bound: answered when what they return stays within it", async () => {
      // As Prefect's CLI and UI ask: a run by name with its states and logs (no limits; estimated at 2 million rows).
      const byName = await run(`{ flow_run(where: { name: { _eq: "run-7" } }) { name states { state } logs { message } } }`);
      expect(byName.errors).toBeUndefined();
      expect(byName.data.flow_run).toEqual([{ name: "run-7", states: [{ state: "Scheduled" }], logs: [] }]);
      process.env.PREFECTLITE_MAX_QUERY_ROWS = "200";
      try {
        // One flow and its 100 runs: 101 rows returned, within 200; the same under 50 is refused, its read capped at what was left.
        const within = await run(`{ flow { flow_runs { name } } }`);
        expect(within.errors).toBeUndefined();
        expect(within.data.flow[0].flow_runs).toHaveLength(100);
        process.env.PREFECTLITE_MAX_QUERY_ROWS = "50";
        reads.length = 0;
        const past = refusal(await run(`{ flow { flow_runs { name } } }`), { reads: 2 });
        expect(past.message).toContain("it returned more than 50 rows (PREFECTLITE_MAX_QUERY_ROWS) by flow.flow_runs");
      } finally {
        delete process.env.PREFECTLITE_MAX_QUERY_ROWS;
      }
    });

    test("the same queries with small limits and a where that stays down are answered", async () => {
      const bounded = await run(`{ flow_run(limit: 1) { flow { flow_runs(limit: 2) { flow { flow_runs(limit: 3) { name } } } } } }`);
      expect(bounded.errors).toBeUndefined();
      expect(bounded.data.flow_run[0].flow.flow_runs[1].flow.flow_runs).toHaveLength(3);
      const down = await run(`{ flow_aggregate(where: { flow_runs: { name: { _eq: "run-7" } } }) { aggregate { count } } }`);
      expect(down).toEqual({ data: { flow_aggregate: { aggregate: { count: 1 } } } });
    });
  });

  describe("the document's shape", () => {
    test("selection depth, aliases and fields (through fragments) are bounded", async () => {
      const deep = refusal(await run(`{ task_run(limit: 1) { flow_run { flow { project { flows(limit: 1) { flow_group { flows(limit: 1) { tasks(limit: 1) { flow { project { flows(limit: 1) { project { name } } } } } } } } } } } } }`));
      expect(deep.message).toBe(
        "the operation nests selections 13 levels deep, more than 12 (PREFECTLITE_MAX_QUERY_DEPTH): query the nested rows separately (by their ids) instead of through more relations",
      );
      const aliases = refusal(await run(`{ ${Array.from({ length: 51 }, (_, i) => `a${i}: hello`).join(" ")} }`));
      expect(aliases.message).toContain("has 51 aliases (fragments expanded), more than 50 (PREFECTLITE_MAX_QUERY_ALIASES)");
      // A fragment used again and again: each use counts.
      const bomb = `query { ...A } fragment A on Query { a1: hello ...B ...B } fragment B on Query { hello ...C ...C ...C } fragment C on Query { ${"hello ".repeat(90)} }`;
      expect(refusal(await run(bomb)).message).toContain("selects 543 fields (fragments expanded), more than 500 (PREFECTLITE_MAX_QUERY_FIELDS)");
    });

    test("brackets nested past any sensible depth are refused before parsing", async () => {
      const error = refusal(await run(`{ flow_run(where: ${"{ _not: ".repeat(50_000)}`));
      expect(error.message).toContain("the query nests brackets more than 148 levels deep");
      expect(refusal((await get("{".repeat(50_000))).body).limit).toBe("PREFECTLITE_MAX_QUERY_DEPTH");
    });

    test("the standard introspection query fits; nesting its lists does not", async () => {
      const introspection = await run(getIntrospectionQuery());
      expect(introspection.errors).toBeUndefined();
      expect(introspection.data.__schema.queryType.name).toBe("Query");
      // graphql's own rule refuses nested introspection lists; the rows estimate would too.
      const lists = refusal(await run(`{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`));
      expect(lists.message).toBe("Maximum introspection depth exceeded");
      // Every type's fields and args once count as the schema's fields and args; a type reached
      // through a field (`type`) may be one type for many fields, so its lists count as the widest.
      const wide = refusal(await run(`{ __schema { types { fields { type { a: fields { name } b: fields { name } c: fields { name } } } } } }`));
      expect(wide.limit).toBe("PREFECTLITE_MAX_QUERY_ROWS");
    });
  });

  describe("limits on lists", () => {
    test("a list without a limit gets the default; a limit over the maximum is refused, also from a variable", async () => {
      process.env.PREFECTLITE_QUERY_DEFAULT_LIMIT = "7";
      try {
        const d = await run(`{ flow_run { id } flow(limit: 1) { flow_runs { id } } }`);
        expect(d.data.flow_run).toHaveLength(7);
        expect(d.data.flow[0].flow_runs).toHaveLength(7);
      } finally {
        delete process.env.PREFECTLITE_QUERY_DEFAULT_LIMIT;
      }
      reads.length = 0;
      const literal = refusal(await run(`{ flow_run(limit: 10001) { id } }`));
      expect(literal.message).toBe("flow_run: limit 10001 is more than 10000 (PREFECTLITE_QUERY_MAX_LIMIT): page with limit and offset");
      const variable = refusal(await run(`query ($n: Int) { flow(limit: 1) { flow_runs(limit: $n) { id } } }`, { n: 50_000 }));
      expect(variable.message).toContain("flow.flow_runs: limit 50000 is more than 10000 (PREFECTLITE_QUERY_MAX_LIMIT)");
      const all = await run(`{ flow_run(limit: 10000) { id } }`);
      expect(all.data.flow_run).toHaveLength(100);
    });
  });

  describe("the database's limits surface as validation errors", () => {
    const count = `query ($w: flow_run_bool_exp) { flow_run_aggregate(where: $w) { aggregate { count } } }`;

    test("a huge _or list: more conditions than the bound (and a balanced tree below it)", async () => {
      const ors = (n: number) => ({ _or: Array.from({ length: n }, (_, i) => ({ name: { _eq: `run-${i}` } })) });
      expect(await run(count, { w: ors(500) })).toEqual({ data: { flow_run_aggregate: { aggregate: { count: 100 } } } });
      reads.length = 0;
      const error = refusal(await run(count, { w: ors(5000) }));
      expect(error.message).toContain("the where has more than 500 conditions (PREFECTLITE_MAX_WHERE_CONDITIONS): use _in for lists of values");
    });

    test("deeply nested _and/_not, in variables or in the document", async () => {
      let nested: unknown = { name: { _eq: "x" } };
      for (let i = 0; i < 20_000; i++) nested = { _and: [nested] };
      expect(refusal(await run(count, { w: nested })).message).toBe(
        "the variables nest deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH): flatten the values",
      );
      const literal = `{ flow_run_aggregate(where: ${"{ _not: ".repeat(70)}{ name: { _eq: "x" } }${" }".repeat(70)}) { aggregate { count } } }`;
      expect(refusal(await run(literal)).message).toContain("the where nests deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH)");
    });

    test("order_by with too many terms", async () => {
      const terms = Array.from({ length: 3000 }, () => ({ name: "asc" }));
      const error = refusal(await run(`query ($o: [flow_run_order_by!]) { flow_run(order_by: $o, limit: 1) { id } }`, { o: terms }));
      expect(error.message).toContain("order_by has more than 20 terms (PREFECTLITE_MAX_ORDER_BY_TERMS)");
    });

    test("JSON nested deeper than the bound in a where value", async () => {
      let deep: unknown = 1;
      for (let i = 0; i < 70; i++) deep = [deep];
      const literal = `{ flow_run_aggregate(where: { parameters: { _contains: { a: ${"[".repeat(70)}1${"]".repeat(70)} } } }) { aggregate { count } } }`;
      expect(refusal(await run(literal)).message).toContain("where.parameters._contains: the value nests deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH)");
    });
  });

  describe("JSON written through the API is depth-bounded, so no stored value can break a filter", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 1500; i++) deep = { a: deep };

    test("create_flow_run parameters, context and run_config; states", async () => {
      const create = `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;
      const flowId = (await client.graphql<{ flow: Array<{ id: string }> }>(`{ flow(limit: 1) { id } }`)).flow[0]!.id;
      // Deep values sent through GraphQL are refused with the variables; in-process callers at the service.
      expect(refusal(await run(create, { input: { flow_id: flowId, parameters: { p: deep } } })).limit).toBe("PREFECTLITE_MAX_JSON_DEPTH");
      await expect(backend.services.createFlowRun({ flowId, parameters: { p: deep } })).rejects.toThrow(
        "parameters nests deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH): store flatter values",
      );
      await expect(backend.services.createFlowRun({ flowId, context: { c: deep } })).rejects.toThrow(/context nests deeper than 64 levels/);
      const [id] = flowRunIds;
      await expect(
        backend.services.setFlowRunStates([{ flowRunId: id!, version: 1, state: { type: "Running", context: { deep } } as never, rerun: false }], { agentId: undefined }),
      ).rejects.toThrow(/state nests deeper than 64 levels/);
      // So a parameters filter keeps working for everyone.
      reads.length = 0;
      const filtered = await run(`{ flow_run_aggregate(where: { parameters: { _contains: { p: 1 } } }) { aggregate { count } } }`);
      expect(filtered).toEqual({ data: { flow_run_aggregate: { aggregate: { count: 0 } } } });
    });
  });

  describe("write_run_logs says why a line was skipped", () => {
    test("an unknown level is named, with the levels there are", async () => {
      const r = await run(`mutation ($logs: [write_run_log_input!]!) { write_run_logs(input: { logs: $logs }) { success written skipped error problems } }`, {
        logs: [
          { flow_run_id: flowRunIds[0], level: "LOUD", message: "too loud" },
          { flow_run_id: flowRunIds[0], level: "info", message: "fine" },
        ],
      });
      expect(r.data.write_run_logs).toEqual({
        success: true,
        written: 1,
        skipped: 1,
        error: '1 of 2 log lines skipped: logs[0]: unknown level "LOUD" (use one of DEBUG, INFO, WARNING, ERROR, CRITICAL)',
        problems: ['logs[0]: unknown level "LOUD" (use one of DEBUG, INFO, WARNING, ERROR, CRITICAL)'],
      });
    });
  });

  describe("mapped children: a bounded number per call, paged by the clients", () => {
    const mapped = `mutation ($input: get_or_create_mapped_task_runs_input!) { get_or_create_mapped_task_runs(input: $input) { task_runs { map_index } } }`;

    test("1,000,000 children in one call are refused before anything is written", async () => {
      const r = await run(mapped, { input: { flow_run_id: flowRunIds[1], task_slug: "double-1", count: 1_000_000 } });
      expect(r.data).toBeNull();
      expect(r.errors![0]!.message).toBe(
        "count 1000000 is more than 10000 children per call (PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL): ask for them in pages with start (start: 0, count: 10000; start: 10000, …)",
      );
      expect(await look.sql("SELECT COUNT(*) AS n FROM task_run WHERE flow_run_id = ? AND map_index >= 0", [flowRunIds[1]!])).toEqual([{ n: 0 }]);
      // The next client is served.
      const next = await run(mapped, { input: { flow_run_id: flowRunIds[1], task_slug: "double-1", count: 2, start: 3 } });
      expect(next.data.get_or_create_mapped_task_runs.task_runs).toEqual([{ map_index: 3 }, { map_index: 4 }]);
    });

    /** A server on this database, for the HTTP backend. */
    async function withServer(fn: (http: HttpBackend) => Promise<void>): Promise<void> {
      const server = startServer({ host: "127.0.0.1", port: 0, schema: await backend.schema(), contextFactory: (i) => backend.context(i.agentId) });
      try {
        await fn(new HttpBackend(server.url));
      } finally {
        await server.stop();
      }
    }

    test("both backends page a large map in calls of the per-call maximum", async () => {
      process.env.PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL = "7";
      await withServer(async (http) => {
        for (const [api, flowRunId] of [
          [await client.backend(), flowRunIds[2]!],
          [http, flowRunIds[3]!],
        ] as const) {
          const children = await api.mappedChildren(flowRunId, "double-1", 20);
          expect(children.map((c) => c.map_index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
          // Asking again returns the same children (get or create).
          expect((await api.mappedChildren(flowRunId, "double-1", 20)).map((c) => c.id)).toEqual(children.map((c) => c.id));
        }
      });
    });

    test("the HTTP backend reads every task run of a run larger than one page", async () => {
      process.env.PREFECTLITE_QUERY_MAX_LIMIT = "5";
      try {
        await withServer(async (api) => {
          await api.mappedChildren(flowRunIds[4]!, "double-1", 12);
          const details = await api.readFlowRun(flowRunIds[4]!);
          expect(details!.task_runs.filter((t) => t.task_slug === "double-1").map((t) => t.map_index)).toEqual([-1, ...Array.from({ length: 12 }, (_, i) => i)]);
          const ids = details!.task_runs.map((t) => t.id);
          expect((await api.readTaskRuns(ids)).map((t) => t.id).sort()).toEqual([...ids].sort());
        });
      } finally {
        delete process.env.PREFECTLITE_QUERY_MAX_LIMIT;
      }
    });
  });
});
