import { afterAll, beforeAll, expect, test } from "bun:test";
import type { GraphQLSchema } from "graphql";
import type { ApiContext } from "../../src/api/context.ts";
import { executeGraphQL } from "../../src/api/execute.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { createServices, type Services } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { describeBackends, openTestStorage, type StoreKind, type TestStorage } from "../storage-helpers.ts";
import { serializedFlow } from "../services/fixtures.ts";

// Prefect 1's states through the GraphQL API as Prefect's client and agent use them: written by
// set_task_run_states in Prefect's form, read back by the queries they send.

describeBackends((kind: StoreKind) => {
  let t: TestStorage;
  let schema: GraphQLSchema;
  let context: ApiContext;
  let services: Services;

  beforeAll(async () => {
    t = await openTestStorage(kind);
    schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
    services = createServices(t.store);
    context = { services, reads: createReadModel(t.storage.query), agentId: undefined };
  });

  afterAll(async () => {
    await t.close();
  });

  async function data(query: string, variables?: Record<string, unknown>) {
    const result = JSON.parse(JSON.stringify(await executeGraphQL(schema, query, variables, context)));
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  /** A Running flow run of a new two-task flow (its task a-1 with `cacheKey`, if given): its task runs' ids and the tasks' ids. */
  async function runningRun(name: string, cacheKey?: string) {
    const projectId = (await services.createProject({ name: `p-${name}` })).id;
    const flow = serializedFlow({ name, tasks: ["a-1", "b-1"] });
    if (cacheKey !== undefined) Object.assign(flow.tasks[0]!, { cache_key: cacheKey });
    const flowId = (await services.createFlow({ serializedFlow: flow, projectId })).id;
    const runId = (await services.createFlowRun({ flowId })).id;
    await services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
    const rows = (await data(`query ($id: uuid!) { task_run(where: { flow_run_id: { _eq: $id } }, order_by: { task_slug: asc }) { id task_id version } }`, { id: runId })).task_run;
    return { runId, a: rows[0], b: rows[1] };
  }

  /** As Prefect's `Client.set_task_run_state`: one state, its version only when Running. */
  const setState = (taskRunId: string, state: Record<string, unknown>, version: number | null = null) =>
    data(`mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { id status message } } }`, {
      input: { states: [{ task_run_id: taskRunId, version, state: { __version__: "1.4.1", context: {}, cached_inputs: {}, ...state } }] },
    });

  test("a Cached state is found by the query of Prefect's get_latest_cached_states, its keys as written", async () => {
    const run = await runningRun("cached");
    const before = new Date(Date.now() - 60_000);
    const expiry = new Date(Date.now() + 3_600_000).toISOString();
    await setState(run.a.id, { type: "Running" }, run.a.version);
    await setState(run.a.id, { type: "Success", message: "Task run succeeded." });
    await setState(run.a.id, { type: "Cached", message: "Task run succeeded.", cached_result_expiration: expiry, hashed_inputs: {}, cached_parameters: {} });
    // Prefect sends `datetime.utcnow() - cache_for` in isoformat: a naive time, meaning UTC.
    const naive = before.toISOString().replace("Z", "").replace(/\.(\d{3})$/, ".$1456");
    const found = await data(
      `query { task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "${naive}" }, task_id: { _eq: "${run.a.task_id}" } }, order_by: { state_timestamp: desc }, limit: 100) { serialized_state } }`,
    );
    expect(found.task_run).toHaveLength(1);
    expect(found.task_run[0].serialized_state).toMatchObject({ type: "Cached", cached_result_expiration: expiry, hashed_inputs: {}, cached_parameters: {} });
    const later = await data(`query { task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "${new Date(Date.now() + 60_000).toISOString()}" } }) { id } }`);
    expect(later.task_run).toEqual([]);
  });

  test("a task with a cache_key: Prefect's get_latest_cached_states finds the Cached task runs of that key in any flow, newest first", async () => {
    const key = `shared-${crypto.randomUUID()}`;
    const cache = async (run: { a: { id: string; version: number } }, expiry: string) => {
      await setState(run.a.id, { type: "Running" }, run.a.version);
      await setState(run.a.id, { type: "Success", message: "Task run succeeded." });
      await setState(run.a.id, { type: "Cached", message: "Task run succeeded.", cached_result_expiration: expiry, hashed_inputs: {}, cached_parameters: {} });
    };
    const before = new Date(Date.now() - 60_000);
    const first = await runningRun("keyed-first", key);
    await cache(first, "2099-01-01T00:00:00.000Z");
    const second = await runningRun("keyed-second", key);
    await Bun.sleep(5); // a later state_timestamp than the first's
    await cache(second, "2099-01-02T00:00:00.000Z");
    await cache(await runningRun("keyed-other", `${key}-other`), "2099-01-03T00:00:00.000Z");
    const asker = await runningRun("keyed-asker", key);
    expect((await data(`query ($id: uuid!) { task_run_by_pk(id: $id) { cache_key task { cache_key } } }`, { id: asker.a.id })).task_run_by_pk).toEqual({
      cache_key: key,
      task: { cache_key: key },
    });
    expect((await data(`query ($id: uuid!) { task_run_by_pk(id: $id) { cache_key } }`, { id: asker.b.id })).task_run_by_pk).toEqual({ cache_key: null });
    // The text of Prefect 1.4.1's query (`parse_graphql` of get_latest_cached_states' with a cache key), its time naive UTC.
    const naive = before.toISOString().replace("Z", "").replace(/\.(\d{3})$/, ".$1456");
    const found = await data(
      `query {\n    task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "${naive}" }, cache_key: { _eq: "${key}" } }, order_by: { state_timestamp: desc }, limit: 100) {\n        serialized_state\n    }\n}`,
    );
    expect(found.task_run.map((r: { serialized_state: { cached_result_expiration: string } }) => r.serialized_state.cached_result_expiration)).toEqual([
      "2099-01-02T00:00:00.000Z",
      "2099-01-01T00:00:00.000Z",
    ]);
  });

  test("a resumed task run: the agent's query finds its Running flow run, and get_task_run_info reads the Submitted state with the Resume it wraps", async () => {
    const run = await runningRun("paused");
    await setState(run.a.id, { type: "Running" }, run.a.version);
    await setState(run.a.id, { type: "Paused", message: "Pause signal raised" });
    const paused = await data(`query { task_run(where: { state: { _in: ["Paused", "Resume"] } }) { id state state_start_time } }`);
    expect(paused.task_run).toEqual([{ id: run.a.id, state: "Paused", state_start_time: null }]);
    await setState(run.a.id, { type: "Resume", start_time: new Date(Date.now() - 5_000).toISOString() });
    const queue = await data(`mutation { get_runs_in_queue(input: { before: "${new Date().toISOString()}" }) { flow_run_ids } }`);
    expect(queue.get_runs_in_queue.flow_run_ids).toContain(run.runId);
    // Prefect's agent: a Running flow run with a task run due, and those task runs' states.
    const buffer = new Date(Date.now() - 3_000).toISOString();
    const metadata = await data(
      `query { flow_run(where: { id: { _in: ["${run.runId}"] }, _or: [{ state: { _eq: "Scheduled" } }, { state: { _eq: "Running" }, task_runs: { state_start_time: { _lte: "${buffer}" } } }] }) {
        id task_runs(where: { state_start_time: { _lte: "${buffer}" } }) { id version serialized_state } } }`,
    );
    expect(metadata.flow_run).toHaveLength(1);
    const [taskRun] = metadata.flow_run[0].task_runs;
    expect(taskRun.serialized_state.type).toBe("Resume");
    await setState(run.a.id, { type: "Submitted", message: "Submitted for execution.", state: taskRun.serialized_state }, taskRun.version);
    const info = await data(`query ($id: UUID!) { get_task_run_info(task_run_id: $id) { state serialized_state } }`, { id: run.a.id });
    expect(info.get_task_run_info.state).toBe("Submitted");
    expect(info.get_task_run_info.serialized_state.state).toMatchObject({ type: "Resume", start_time: taskRun.serialized_state.start_time });
  });

  test("looping and failing validation: Looped and ValidationFailed are stored and filtered like any state", async () => {
    const run = await runningRun("looped");
    await setState(run.a.id, { type: "Running" }, run.a.version);
    await setState(run.a.id, { type: "Looped", message: "Task is looping (1)", loop_count: 1 });
    await setState(run.b.id, { type: "Running" }, run.b.version);
    await setState(run.b.id, { type: "ValidationFailed", message: "bad" });
    const byState = await data(
      `query ($id: uuid!) { task_run(where: { flow_run_id: { _eq: $id } }, order_by: { task_slug: asc }) { state serialized_state states(order_by: { version: asc }) { state } } }`,
      { id: run.runId },
    );
    expect(byState.task_run.map((r: any) => [r.state, r.states.map((s: any) => s.state)])).toEqual([
      ["Looped", ["Pending", "Running", "Looped"]],
      ["ValidationFailed", ["Pending", "Running", "ValidationFailed"]],
    ]);
    expect(byState.task_run[0].serialized_state.loop_count).toBe(1);
    const counted = await data(`query { task_run_aggregate(where: { state: { _in: ["Looped", "ValidationFailed"] } }) { aggregate { count } } }`);
    expect(counted.task_run_aggregate.aggregate.count).toBe(2);
  });
});
