import { afterAll, beforeAll, expect, test } from "bun:test";
import { getOperationAST, parse, type GraphQLSchema } from "graphql";
import type { ApiContext } from "../../src/api/context.ts";
import { executeGraphQL } from "../../src/api/execute.ts";
import { checkOperation } from "../../src/api/query-limits.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { DEFAULT_TENANT } from "../../src/core/tenant.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { describeBackends, openTestStorage, type StoreKind, type TestStorage } from "../storage-helpers.ts";
import { id, onDatabase, seed, seedPostgres, T } from "../storage/query-seed.ts";
import { serializedFlow } from "../services/fixtures.ts";

// The query side as Prefect Server's Hasura answered it: documents in the shape Prefect's UI sends.

describeBackends((kind: StoreKind) => {
  let t: TestStorage;
  let schema: GraphQLSchema;
  let context: ApiContext;

  beforeAll(async () => {
    t = await openTestStorage(kind);
    await onDatabase(t, seed, seedPostgres);
    // Task 21 retries after 90 s, task 20 after 1 day 2 hours; an edge 20 → 21; two mapped children of 41 ran.
    const tweaks = (bool: string) =>
      `UPDATE task SET retry_delay_ms = 90000 WHERE id = '${id(21)}'; UPDATE task SET retry_delay_ms = 93600000 WHERE id = '${id(20)}';
       INSERT INTO edge (id, flow_id, upstream_task_id, downstream_task_id, key, mapped, created) VALUES ('${id(80)}', '${id(11)}', '${id(20)}', '${id(21)}', 'rows', ${bool}, '${T(0)}');
       UPDATE task_run SET start_time = '${T(13)}', end_time = '${T(14)}' WHERE id = '${id(42)}';
       UPDATE task_run SET start_time = '${T(15)}', end_time = '${T(16)}' WHERE id = '${id(44)}';`;
    await onDatabase(
      t,
      (db) => db.exec(tweaks("0")),
      async (sql) => void (await sql.unsafe(tweaks("false"))),
    );
    schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
    context = { services: createServices(t.store), reads: createReadModel(t.storage.query), agentId: undefined };
  });

  afterAll(async () => {
    await t.close();
  });

  type Result = { data?: any; errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }> };

  /** Whether the query's rows estimate stays within PREFECTLITE_MAX_QUERY_ROWS (else it runs under the rows bound). */
  function withinEstimate(query: string): boolean {
    const document = parse(query);
    const check = checkOperation(schema, document, getOperationAST(document)!, {}, context.reads);
    expect(check.errors).toEqual([]);
    return check.rowBudget === undefined;
  }

  async function run(query: string, variables?: Record<string, unknown>): Promise<Result> {
    return JSON.parse(JSON.stringify(await executeGraphQL(schema, query, variables, context)));
  }

  async function data(query: string, variables?: Record<string, unknown>) {
    const result = await run(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  test("the one tenant: tenant, tenant_by_pk, tenant_aggregate, and tenant_id on every table (filterable, orderable, a relation)", async () => {
    const d = await data(
      `query ($tenant: uuid!) {
        tenant { id name slug info settings created updated }
        tenant_by_pk(id: $tenant) { slug }
        missing: tenant_by_pk(id: "${id(999)}") { id }
        tenant_aggregate(where: { slug: { _eq: "default" } }) { aggregate { count } }
        project(where: { tenant_id: { _eq: $tenant } }, order_by: [{ tenant_id: asc }, { name: asc }]) { name tenant_id tenant { name } }
        none: flow_run(where: { tenant_id: { _neq: $tenant } }) { id }
        by_relation: flow_run(where: { tenant: { slug: { _eq: "default" } } }, order_by: { name: asc }, limit: 1) { name }
        log(limit: 1) { tenant_id is_loaded_from_archive }
        archived_logs: log_aggregate(where: { is_loaded_from_archive: { _eq: true } }) { aggregate { count } }
      }`,
      { tenant: DEFAULT_TENANT.id },
    );
    expect(d.tenant).toEqual([
      { id: DEFAULT_TENANT.id, name: DEFAULT_TENANT.name, slug: DEFAULT_TENANT.slug, info: {}, settings: {}, created: expect.any(String), updated: expect.any(String) },
    ]);
    expect(d.tenant_by_pk).toEqual({ slug: "default" });
    expect(d.missing).toBeNull();
    expect(d.tenant_aggregate.aggregate.count).toBe(1);
    expect(d.project).toEqual([
      { name: "alpha", tenant_id: DEFAULT_TENANT.id, tenant: { name: "default" } },
      { name: "beta", tenant_id: DEFAULT_TENANT.id, tenant: { name: "default" } },
    ]);
    expect(d.none).toEqual([]);
    expect(d.by_relation).toEqual([{ name: "first" }]);
    expect(d.log).toEqual([{ tenant_id: DEFAULT_TENANT.id, is_loaded_from_archive: false }]);
    expect(d.archived_logs.aggregate.count).toBe(0);
  });

  test("cloud_hook, which Prefect Server tracked and never wrote, is an empty table", async () => {
    const d = await data(`query ($id: String) {
      cloud_hook(where: { version_group_id: { _eq: $id } }) { id active config created name states type tenant_id }
      cloud_hook_aggregate { aggregate { count } }
    }`, { id: "vg-etl" });
    expect(d).toEqual({ cloud_hook: [], cloud_hook_aggregate: { aggregate: { count: 0 } } });
  });

  test("message, Prefect Server's notifications (only its cloud hooks wrote them), is an empty table as Prefect 1's UI reads it", async () => {
    const d = await data(`query ($where: message_bool_exp, $orderBy: [message_order_by!]) {
      notifications: message(where: $where, limit: 5, offset: 0, order_by: $orderBy) { id content created read tenant_id text type updated }
      unread: message_aggregate(where: { read: { _eq: false } }) { aggregate { count } }
      counted: message_aggregate(where: $where) { aggregate { count } }
      one: message_by_pk(id: "${id(1)}") { id }
    }`, { where: { tenant_id: { _eq: DEFAULT_TENANT.id } }, orderBy: { created: "desc" } });
    expect(d).toEqual({ notifications: [], unread: { aggregate: { count: 0 } }, counted: { aggregate: { count: 0 } }, one: null });
  });

  test("distinct_on: the first row of each group in order_by's order, at the root and in a relation", async () => {
    const d = await data(`{
      newest: flow(distinct_on: version_group_id, order_by: [{ version_group_id: asc }, { version: desc }]) { name version }
      oldest: flow(distinct_on: [version_group_id], order_by: [{ version_group_id: asc }, { version: asc }]) { version }
      runs: flow_run(distinct_on: flow_id, where: { state: { _neq: "Failed" } }, order_by: [{ flow_id: asc }, { scheduled_start_time: desc }]) { name }
      flow_run_by_pk(id: "${id(30)}") {
        task_run_states: task_runs(distinct_on: state, order_by: [{ state: asc }, { map_index: desc }]) { state map_index }
      }
    }`);
    expect(d.newest).toEqual([
      { name: "etl", version: 2 },
      { name: "report", version: 1 },
    ]);
    expect(d.oldest).toEqual([{ version: 1 }, { version: 1 }]);
    expect(d.runs).toEqual([{ name: "fourth" }]);
    expect(d.flow_run_by_pk.task_run_states).toEqual([
      { state: "Failed", map_index: 1 },
      { state: "Mapped", map_index: -1 },
      { state: "Success", map_index: 2 },
    ]);
    const bad = await run(`{ flow(distinct_on: nope) { id } }`);
    expect(bad.errors![0]!.message).toMatch(/nope/);
  });

  test("_aggregate takes distinct_on, order_by, limit and offset, and answers count(columns, distinct), max, min, sum, avg", async () => {
    const d = await data(`{
      task_run_aggregate(where: { flow_run_id: { _eq: "${id(30)}" } }, order_by: { map_index: asc }, limit: 3, offset: 1) {
        aggregate {
          count
          states: count(columns: [state], distinct: true)
          with_state: count(columns: [state])
          max { map_index state created }
          min { map_index }
          sum { map_index }
          avg { map_index }
        }
      }
      per_flow: flow_run_aggregate(distinct_on: flow_id) { aggregate { count } }
      empty: flow_run_aggregate(where: { name: { _eq: "nobody" } }) { aggregate { count max { version } } }
      flow_run(where: { id: { _in: ["${id(30)}", "${id(33)}"] } }, order_by: { name: asc }) {
        name
        task_runs_aggregate(order_by: { map_index: desc }, limit: 2) { aggregate { count max { map_index } sum { map_index } } }
        distinct_states: task_runs_aggregate(distinct_on: state) { aggregate { count } }
      }
      task_aggregate { aggregate { max { retry_delay } sum { retry_delay } } }
    }`);
    // map_index ordered: -1, 0, 1, 2 (and 41 is -1 too): offset 1, limit 3 → 41/42/43 or 40/42/43: indexes -1, 0, 1.
    expect(d.task_run_aggregate.aggregate).toEqual({
      count: 3,
      states: expect.any(Number),
      with_state: 3,
      max: { map_index: 1, state: expect.any(String), created: expect.any(String) },
      min: { map_index: -1 },
      sum: { map_index: 0 },
      avg: { map_index: 0 },
    });
    expect(d.per_flow.aggregate.count).toBe(2);
    expect(d.empty.aggregate).toEqual({ count: 0, max: { version: null } });
    expect(d.flow_run).toEqual([
      { name: "first", task_runs_aggregate: { aggregate: { count: 2, max: { map_index: 2 }, sum: { map_index: 3 } } }, distinct_states: { aggregate: { count: 3 } } },
      { name: "fourth", task_runs_aggregate: { aggregate: { count: 0, max: { map_index: null }, sum: { map_index: null } } }, distinct_states: { aggregate: { count: 0 } } },
    ]);
    expect(d.task_aggregate.aggregate).toEqual({ max: { retry_delay: "1 day 02:00:00" }, sum: { retry_delay: "1 day 02:01:30" } });
    const all = await data(`{ task_run_aggregate { aggregate { count(columns: [state], distinct: true) } } }`);
    expect(all.task_run_aggregate.aggregate.count).toBe(4); // Success, Mapped, Failed, Running
  });

  test("a null operand is no condition (Hasura's V1 boolean null collapse)", async () => {
    const d = await data(
      `query ($state: String, $ids: [uuid!], $flow: uuid) {
        all: flow_run_aggregate(where: { state: { _eq: $state }, id: { _in: $ids }, flow_id: { _eq: $flow } }) { aggregate { count } }
        some: flow_run_aggregate(where: { state: { _eq: null, _neq: "Failed" }, name: { _is_null: null } }) { aggregate { count } }
      }`,
      { state: null, ids: null, flow: null },
    );
    expect(d.all.aggregate.count).toBe(4);
    expect(d.some.aggregate.count).toBe(3);
  });

  test("Hasura's scalars in variables: jsonb in a json column's comparison, interval; json key operators", async () => {
    const d = await data(
      `query ($labels: jsonb, $key: String, $delay: interval) {
        labelled: flow_run(where: { labels: { _contains: $labels } }, order_by: { name: asc }) { name labels }
        keyed: flow_run_aggregate(where: { parameters: { _has_key: $key } }) { aggregate { count } }
        any: flow_run_aggregate(where: { parameters: { _has_keys_any: ["nope", "x"] } }) { aggregate { count } }
        all: flow_run_aggregate(where: { parameters: { _has_keys_all: ["nope", "x"] } }) { aggregate { count } }
        slow: task(where: { retry_delay: { _gte: $delay } }, order_by: { slug: asc }) { slug retry_delay retry_delay_ms }
        iso: task(where: { retry_delay: { _eq: "PT1M30S" } }) { slug }
      }`,
      { labels: ["a"], key: "x", delay: "00:01:30" },
    );
    expect(d.labelled.map((r: any) => r.name)).toEqual(["first", "second"]);
    expect(d.keyed.aggregate.count).toBe(4);
    expect(d.any.aggregate.count).toBe(4);
    expect(d.all.aggregate.count).toBe(0);
    expect(d.slow).toEqual([
      { slug: "extract-1", retry_delay: "1 day 02:00:00", retry_delay_ms: 93600000 },
      { slug: "load-1", retry_delay: "00:01:30", retry_delay_ms: 90000 },
    ]);
    expect(d.iso).toEqual([{ slug: "load-1" }]);
    const bad = await run(`{ task(where: { retry_delay: { _eq: "soon" } }) { id } }`);
    expect(bad.errors![0]!.message).toMatch(/expected an interval/);
    expect(bad.errors![0]!.extensions!.code).toBe("VALIDATION");
  });

  test("the columns Prefect's UI reads, and api { core_version release_timestamp }", async () => {
    const d = await data(`{
      flow_by_pk(id: "${id(11)}") { settings environment }
      task_by_pk(id: "${id(20)}") { description auto_generated cache_key retry_delay }
      agent_by_pk(id: "${id(7)}") { agent_config_id }
      api { backend mode version core_version release_timestamp }
    }`);
    expect(d.flow_by_pk).toEqual({ settings: {}, environment: null });
    expect(d.task_by_pk).toEqual({ description: null, auto_generated: false, cache_key: null, retry_delay: "1 day 02:00:00" });
    expect(d.agent_by_pk).toEqual({ agent_config_id: null });
    expect(d.api).toEqual({ backend: "SERVER", mode: "normal", version: expect.any(String), core_version: "1.4.1", release_timestamp: null });
  });

  test("registration fills description, auto_generated and cache_key from the serialized flow's task entries, else defaults", async () => {
    const { id: projectId } = await context.services.createProject({ name: "registration" });
    const flow = serializedFlow({ name: "described", tasks: ["a-1", "b-1"] });
    Object.assign(flow.tasks[0]!, { description: "first task", auto_generated: true, cache_key: "k1" });
    const { id: flowId } = await context.services.createFlow({ serializedFlow: flow, projectId });
    const d = await data(`query ($id: uuid!) { flow_by_pk(id: $id) { tasks(order_by: { slug: asc }) { slug description auto_generated cache_key } } }`, { id: flowId });
    expect(d.flow_by_pk.tasks).toEqual([
      { slug: "a-1", description: "first task", auto_generated: true, cache_key: "k1" },
      { slug: "b-1", description: null, auto_generated: false, cache_key: null },
    ]);
  });

  test("agent_config as Server's Hasura had it: its columns, agent.agent_config and agent_config.agents; Client.get_agent_config's document", async () => {
    const { id: configId } = await context.services.createAgentConfig({ name: "gpu", settings: { is_healthy: true, n: 2 } });
    const { id: agentId } = await context.services.registerAgent({ type: "LocalAgent", name: "configured", agentConfigId: configId });
    // Prefect's Client.get_agent_config sends this document.
    const d = await data(
      `query ($id: uuid) {
        agent_config(where: { id: { _eq: $id } }) { settings }
        full: agent_config_by_pk(id: "${configId}") { id tenant_id name settings created updated agents { name agent_config_id } }
        agent(where: { agent_config: { name: { _eq: "gpu" } } }) { id agent_config { name settings } }
        unconfigured: agent_by_pk(id: "${id(7)}") { agent_config { id } }
        counted: agent_config_aggregate(where: { settings: { _has_key: "is_healthy" } }) { aggregate { count } }
      }`,
      { id: configId },
    );
    expect(d.agent_config).toEqual([{ settings: { is_healthy: true, n: 2 } }]);
    expect(d.full).toEqual({
      id: configId,
      tenant_id: DEFAULT_TENANT.id,
      name: "gpu",
      settings: { is_healthy: true, n: 2 },
      created: expect.any(String),
      updated: expect.any(String),
      agents: [{ name: "configured", agent_config_id: configId }],
    });
    expect(d.agent).toEqual([{ id: agentId, agent_config: { name: "gpu", settings: { is_healthy: true, n: 2 } } }]);
    expect(d.unconfigured).toEqual({ agent_config: null });
    expect(d.counted.aggregate.count).toBe(1);
    await context.services.deleteAgentConfig(configId);
    expect((await data(`query ($id: uuid!) { agent_by_pk(id: $id) { agent_config_id agent_config { id } } }`, { id: agentId })).agent_by_pk).toEqual({
      agent_config_id: null,
      agent_config: null,
    });
  });

  test("edge.key is a String (the argument's name), as Server's; a TypeScript task's edges carry the argument's position as text", async () => {
    const d = await data(`{ edge_by_pk(id: "${id(80)}") { key upstream_task { slug } } keyed: edge(where: { key: { _eq: "rows" } }) { id } }`);
    expect(d.edge_by_pk).toEqual({ key: "rows", upstream_task: { slug: "extract-1" } });
    expect(d.keyed).toEqual([{ id: id(80) }]);
    const { id: projectId } = await context.services.createProject({ name: "edge keys" });
    const { id: flowId } = await context.services.createFlow({ serializedFlow: serializedFlow({ name: "positional", tasks: ["a-1", "b-1"] }), projectId });
    const keys = await data(`query ($id: uuid!) { edge(where: { flow_id: { _eq: $id } }) { key } }`, { id: flowId });
    expect(keys.edge).toEqual([{ key: "0" }]);
    const bad = await run(`{ edge(where: { key: { _eq: 0 } }) { id } }`);
    expect(bad.errors![0]!.message).toMatch(/String cannot represent a non string value: 0/);
  });

  test("Prefect Server's mapped_children: the children's earliest start, latest end and count per state", async () => {
    const d = await data(
      `query ($parent: UUID!, $child: UUID!) {
        parent: mapped_children(task_run_id: $parent) { min_start_time max_end_time state_counts }
        child: mapped_children(task_run_id: $child) { min_start_time max_end_time state_counts }
      }`,
      { parent: id(41), child: id(42) },
    );
    expect(d.parent).toEqual({ min_start_time: T(13), max_end_time: T(16), state_counts: { Success: 2, Failed: 1 } });
    expect(d.child).toEqual({ min_start_time: null, max_end_time: null, state_counts: {} });
  });

  test("Prefect Server's traversal functions: utility_downstream_tasks / utility_upstream_tasks with their task", async () => {
    const d = await data(
      `query ($start: _uuid, $end: _uuid, $run: uuid) {
        down: utility_downstream_tasks(args: { start_task_ids: $start }, limit: 10) {
          depth task_id tenant_id task { slug task_runs(where: { flow_run_id: { _eq: $run } }, order_by: { map_index: asc }, limit: 10) { map_index } }
        }
        up: utility_upstream_tasks(args: { start_task_ids: $end }) { depth task_id }
        shallow: utility_downstream_tasks(args: { start_task_ids: "{${id(20)}}", depth_limit: 0 }) { task_id }
      }`,
      { start: `{${id(20)}}`, end: [id(21)], run: id(30) },
    );
    expect(d.down).toEqual([
      { depth: 0, task_id: id(20), tenant_id: DEFAULT_TENANT.id, task: { slug: "extract-1", task_runs: [{ map_index: -1 }] } },
      { depth: 1, task_id: id(21), tenant_id: DEFAULT_TENANT.id, task: { slug: "load-1", task_runs: [{ map_index: -1 }, { map_index: 0 }, { map_index: 1 }, { map_index: 2 }] } },
    ]);
    expect(d.up).toEqual([
      { depth: 0, task_id: id(21) },
      { depth: 1, task_id: id(20) },
    ]);
    expect(d.shallow).toEqual([{ task_id: id(20) }]);
    const bad = await run(`{ utility_downstream_tasks(args: { start_task_ids: "{not-a-uuid}" }) { task_id } }`);
    expect(bad.errors![0]!.message).toMatch(/invalid _uuid/);
    // Its rows count in the estimate like any list's (past it, the query runs under the rows bound).
    expect(withinEstimate(`{ utility_downstream_tasks(args: { start_task_ids: "{${id(20)}}" }) { task { task_runs { id } } } }`)).toBe(false);
  });

  test("the new arguments stay inside the query limits", async () => {
    const tooMany = await run(`{ flow_run(distinct_on: flow_id, limit: 1000000) { id } }`);
    expect(tooMany.errors![0]!.message).toMatch(/PREFECTLITE_QUERY_MAX_LIMIT/);
    expect(withinEstimate(`{ flow(limit: 1000) { flow_runs(distinct_on: state, limit: 1000) { task_runs(limit: 1000) { id } } } }`)).toBe(false);
    // A where that pins the id bounds the rows (Prefect's FlowRunView reads one run so, with its states).
    const pinned = `{ flow_run(where: { id: { _eq: "${id(30)}" } }) { states { id } task_runs { id } } }`;
    expect(withinEstimate(pinned)).toBe(true);
    expect((await run(pinned)).data.flow_run[0].states).toHaveLength(3);
    expect(withinEstimate(`{ flow_run(where: { _and: [{ id: { _in: ["${id(30)}", "${id(31)}"] } }] }) { states { id } task_runs { id } } }`)).toBe(true);
    expect(withinEstimate(`{ flow_run(where: { id: { _neq: "${id(30)}" } }) { states { id } task_runs { id } } }`)).toBe(false);
    expect(withinEstimate(`{ flow_run(where: { id: { _eq: null } }) { states { id } task_runs { id } } }`)).toBe(false);
    // Past the estimate a query runs under the rows bound: refused once it returns more rows than the bound.
    process.env.PREFECTLITE_MAX_QUERY_ROWS = "3";
    try {
      const past = await run(`{ flow_run(where: { id: { _neq: "${id(30)}" } }) { states { id } task_runs { id } } }`);
      expect(past.data ?? null).toBeNull();
      expect(past.errors).toHaveLength(1);
      expect(past.errors![0]!.message).toContain("it returned more than 3 rows (PREFECTLITE_MAX_QUERY_ROWS)");
    } finally {
      delete process.env.PREFECTLITE_MAX_QUERY_ROWS;
    }
    // An aggregate's where is compiled (and refused) before anything runs.
    const badWhere = await run(`{ flow_run_aggregate(where: { flow: { flow_runs: { name: { _eq: "x" } } } }) { aggregate { count } } }`);
    expect(badWhere.errors![0]!.message).toMatch(/^flow_run_aggregate: .*goes up through 'flow'/);
    const badCount = await run(`{ flow_run_aggregate { aggregate { count(columns: [nope]) } } }`);
    expect(badCount.errors![0]!.message).toMatch(/nope/);
  });
});
