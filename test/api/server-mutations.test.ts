import { describe, expect, test } from "bun:test";
import { graphql } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs, type MutationContext } from "../../src/api/mutations.ts";
import { scalarResolvers, scalarTypeDefs } from "../../src/api/scalars.ts";
import { DEFAULT_TENANT } from "../../src/core/tenant.ts";
import { openTestBackend, registerFlow, row, type TestBackend } from "../services/fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

/**
 * The mutation side as Prefect 1's client and UI send it to Prefect Server: documents declaring
 * `$input: <mutation>_input!` and `$id: UUID!` variables, Server's payload fields, and the
 * operations Server has beside prefectlite's own.
 */
describeBackends((kind) => {
  const schema = createSchema<MutationContext>({
    typeDefs: [scalarTypeDefs, `type Query { ok: Boolean }`, mutationTypeDefs],
    resolvers: [scalarResolvers, mutationResolvers] as any,
  });

  interface Result {
    data?: Record<string, any> | null;
    errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown>; originalError?: any }>;
  }

  async function run(b: TestBackend, source: string, variables: Record<string, unknown> = {}): Promise<Result> {
    return (await graphql({ schema, source, variableValues: variables, contextValue: { services: b.services, agentId: undefined } })) as Result;
  }

  async function ok(b: TestBackend, source: string, variables: Record<string, unknown> = {}) {
    const r = await run(b, source, variables);
    expect(r.errors).toBeUndefined();
    return r.data!;
  }

  const count = async (b: TestBackend, sql: string, params: Record<string, unknown> = {}) => Number((await row(b, sql, params)).n);

  async function flowWithRun(b: TestBackend) {
    const flow = await registerFlow(b, { tasks: ["a-1", "b-1"] });
    const runId = (await b.services.createFlowRun({ flowId: flow.id })).id;
    const running = async () => void (await b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]));
    const taskRun = await b.services.getOrCreateTaskRunInfo({ flowRunId: runId, taskSlug: "a-1", mapIndex: -1 });
    return { flow, runId, taskRun, running };
  }

  describe("Prefect Server's mutations", () => {
    test("each mutation's input type has Server's name and takes `$id: UUID!` variables where Server declares UUID", async () => {
      const b = await openTestBackend({ kind });
      const { runId, taskRun } = await flowWithRun(b);
      const data = await ok(
        b,
        `mutation ($id: UUID!, $task: UUID!, $at: DateTime) {
          beat: update_flow_run_heartbeat(input: { flow_run_id: $id }) { success }
          task_beat: update_task_run_heartbeat(input: { task_run_id: $task }) { success }
          name: set_flow_run_name(input: { flow_run_id: $id, name: "renamed" }) { success error }
          logs: write_run_logs(input: { logs: [{ flow_run_id: $id, task_run_id: $task, timestamp: $at, level: "INFO", message: "hi" }] }) { success }
          cancel: cancel_flow_run(input: { flow_run_id: $id }) { state }
        }`,
        { id: runId, task: taskRun.id, at: "2026-12-02T01:23:52.123456+00:00" },
      );
      expect(data).toEqual({
        beat: { success: true },
        task_beat: { success: true },
        name: { success: true, error: null },
        logs: { success: true },
        cancel: { state: "Cancelled" },
      });
      expect(await row(b, "SELECT name FROM flow_run WHERE id = $id", { id: runId })).toEqual({ name: "renamed" });
      const bad = await run(b, `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`, { input: { flow_run_id: "nope" } });
      expect(bad.errors![0]!.message).toContain('invalid uuid: "nope"');
    });

    test("create_flow_run takes every option of Prefect's client, a DateTime with an offset and microseconds included", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registerFlow(b);
      const input = {
        flow_id: flow.id,
        parameters: {},
        context: { a: 1 },
        labels: ["dev", "b"],
        run_config: { type: "LocalRun", env: { X: "1" }, labels: ["dev"] },
        scheduled_start_time: "2027-01-02T03:04:05.678901+01:00",
        idempotency_key: "k1",
        flow_run_name: "every-option",
      };
      const doc = `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;
      const id = (await ok(b, doc, { input })).create_flow_run.id;
      expect((await ok(b, doc, { input })).create_flow_run.id).toBe(id);
      const stored = await row(b, "SELECT name, scheduled_start_time FROM flow_run WHERE id = $id", { id });
      expect(stored.name).toBe("every-option");
      expect(new Date(stored.scheduled_start_time).toISOString()).toBe("2027-01-02T02:04:05.678Z");
      const byGroup = await ok(b, `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, {
        input: { version_group_id: (await row(b, "SELECT version_group_id FROM flow")).version_group_id },
      });
      expect(byGroup.create_flow_run.id).not.toBe(id);
    });

    test("set_flow_run_states answers Server's payload: states { id status message }", async () => {
      const b = await openTestBackend({ kind });
      const { runId } = await flowWithRun(b);
      const data = await ok(b, `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id status message } } }`, {
        input: { states: [{ flow_run_id: runId, version: 1, state: { type: "Running", message: "go" } }] },
      });
      expect(data.set_flow_run_states.states).toEqual([{ id: runId, status: "SUCCESS", message: "go" }]);
    });

    test("a project name that is taken is 'Uniqueness violation.', as Hasura said it; tenant_id is the default tenant's only", async () => {
      const b = await openTestBackend({ kind });
      const doc = `mutation ($input: create_project_input!) { create_project(input: $input) { id } }`;
      const other = await ok(b, doc, { input: { name: "other", description: "d", tenant_id: DEFAULT_TENANT.id } });
      const taken = await run(b, doc, { input: { name: "test", tenant_id: DEFAULT_TENANT.id } });
      expect(taken.errors![0]!.message).toBe("Uniqueness violation.");
      expect(taken.errors![0]!.extensions).toEqual({ code: "CONFLICT", detail: "Project 'test' already exists" });
      const rename = await run(b, `mutation { set_project_name(input: { project_id: "${other.create_project.id}", name: "test" }) { id } }`);
      expect(rename.errors![0]!.message).toBe("Uniqueness violation.");
      const elsewhere = await run(b, doc, { input: { name: "x", tenant_id: crypto.randomUUID() } });
      expect(elsewhere.errors![0]!.message).toContain(`prefectlite has one tenant, ${DEFAULT_TENANT.id}`);
      expect(await count(b, "SELECT count(*) AS n FROM project")).toBe(2);
    });

    test("set_project_name, set_project_description and delete_project (its flows and runs go with it)", async () => {
      const b = await openTestBackend({ kind });
      const { runId } = await flowWithRun(b);
      const data = await ok(
        b,
        `mutation ($id: UUID!) {
          n: set_project_name(input: { project_id: $id, name: "renamed" }) { id }
          d: set_project_description(input: { project_id: $id, description: "about" }) { id }
        }`,
        { id: b.projectId },
      );
      expect(data).toEqual({ n: { id: b.projectId }, d: { id: b.projectId } });
      expect(await row(b, "SELECT name, description FROM project")).toEqual({ name: "renamed", description: "about" });
      expect((await ok(b, `mutation { delete_project(input: { project_id: "${b.projectId}" }) { success } }`)).delete_project).toEqual({ success: true });
      expect(await count(b, "SELECT count(*) AS n FROM flow")).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM flow_run WHERE id = $id", { id: runId })).toBe(0);
      const again = await run(b, `mutation { delete_project(input: { project_id: "${b.projectId}" }) { success } }`);
      expect(again.errors![0]!.originalError.code).toBe("NotFound");
    });

    test("set_flow_run_labels stores them sorted; names must be non-empty; set_task_run_name names the task run", async () => {
      const b = await openTestBackend({ kind });
      const { runId, taskRun } = await flowWithRun(b);
      await ok(b, `mutation ($id: UUID!) { set_flow_run_labels(input: { flow_run_id: $id, labels: ["z", "a", "z"] }) { success } }`, { id: runId });
      expect((await b.services.getRunsInQueue({ labels: ["a"] })).includes(runId)).toBe(false);
      expect(await b.services.getRunsInQueue({ labels: ["a", "z"] })).toEqual([runId]);
      const empty = await run(b, `mutation { set_flow_run_name(input: { flow_run_id: "${runId}", name: "" }) { success } }`);
      expect(empty.errors![0]!.message).toBe("name must be a non-empty string");
      await ok(b, `mutation { set_task_run_name(input: { task_run_id: "${taskRun.id}", name: "first" }) { success } }`);
      expect(await row(b, "SELECT name FROM task_run WHERE id = $id", { id: taskRun.id })).toEqual({ name: "first" });
    });

    test("an unknown flow run or task run: renames, labels and deletes answer success false as Server did; the other fields still commit", async () => {
      const b = await openTestBackend({ kind });
      const { runId } = await flowWithRun(b);
      const unknown = crypto.randomUUID();
      const data = await ok(
        b,
        `mutation ($id: UUID!, $unknown: UUID!) {
          kept: set_flow_run_name(input: { flow_run_id: $id, name: "renamed" }) { success error }
          name: set_flow_run_name(input: { flow_run_id: $unknown, name: "x" }) { success error }
          task: set_task_run_name(input: { task_run_id: $unknown, name: "x" }) { success error }
          labels: set_flow_run_labels(input: { flow_run_id: $unknown, labels: ["a"] }) { success error }
          gone: delete_flow_run(input: { flow_run_id: $unknown }) { success error }
        }`,
        { id: runId, unknown },
      );
      expect(data).toEqual({
        kept: { success: true, error: null },
        name: { success: false, error: `Flow run ${unknown} not found` },
        task: { success: false, error: `Task run ${unknown} not found` },
        labels: { success: false, error: `Flow run ${unknown} not found` },
        gone: { success: false, error: `Flow run ${unknown} not found` },
      });
      expect(await row(b, "SELECT name FROM flow_run WHERE id = $id", { id: runId })).toEqual({ name: "renamed" });
      // A bad input is still an error, and heartbeats of an unknown run stay NotFound (prefectlite's runners report it).
      const bad = await run(b, `mutation ($unknown: UUID!) { set_flow_run_name(input: { flow_run_id: $unknown, name: "" }) { success } }`, { unknown });
      expect(bad.errors![0]!.message).toBe("name must be a non-empty string");
      const beat = await run(b, `mutation ($unknown: UUID!) { update_flow_run_heartbeat(input: { flow_run_id: $unknown }) { success } }`, { unknown });
      expect(beat.errors![0]!.originalError.code).toBe("NotFound");
    });

    test("delete_flow_run removes the run with its task runs, their states and its logs", async () => {
      const b = await openTestBackend({ kind });
      const { flow, runId, taskRun, running } = await flowWithRun(b);
      await running();
      const kept = (await b.services.createFlowRun({ flowId: flow.id })).id;
      await b.services.setTaskRunStates([{ taskRunId: taskRun.id, version: taskRun.version, state: { type: "Running" } }]);
      await b.services.writeRunLogs([{ flow_run_id: runId, task_run_id: taskRun.id, message: "hi" }]);
      await ok(b, `mutation ($input: delete_flow_run_input!) { delete_flow_run(input: $input) { success } }`, { input: { flow_run_id: runId } });
      expect(await count(b, "SELECT count(*) AS n FROM flow_run")).toBe(1);
      expect(await count(b, "SELECT count(*) AS n FROM task_run WHERE flow_run_id = $id", { id: runId })).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM task_run_state WHERE task_run_id = $id", { id: taskRun.id })).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM flow_run_state WHERE flow_run_id = $id", { id: runId })).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM log")).toBe(0);
      expect((await row(b, "SELECT id FROM flow_run")).id).toBe(kept);
    });

    test("flow groups: description, run config (new runs take it), delete (every version and its runs); update_flow_project", async () => {
      const b = await openTestBackend({ kind });
      const { flow } = await flowWithRun(b);
      const group = (await row(b, "SELECT flow_group_id AS id FROM flow")).id;
      const other = (await b.services.createProject({ name: "other" })).id;
      const data = await ok(
        b,
        `mutation ($group: UUID!, $flow: UUID!, $project: UUID!) {
          d: set_flow_group_description(input: { flow_group_id: $group, description: "# hello" }) { success }
          r: set_flow_group_run_config(input: { flow_group_id: $group, run_config: { type: "LocalRun", labels: ["group"] } }) { success }
          p: update_flow_project(input: { flow_id: $flow, project_id: $project }) { id }
        }`,
        { group, flow: flow.id, project: other },
      );
      expect(data).toEqual({ d: { success: true }, r: { success: true }, p: { id: flow.id } });
      expect(await row(b, "SELECT flow_group.description, flow.project_id FROM flow_group JOIN flow ON flow.flow_group_id = flow_group.id")).toEqual({
        description: "# hello",
        project_id: other,
      });
      const created = await b.services.createFlowRun({ flowId: flow.id });
      const stored = await row(b, "SELECT labels FROM flow_run WHERE id = $id", { id: created.id });
      expect(typeof stored.labels === "string" ? JSON.parse(stored.labels) : stored.labels).toEqual(["group"]);
      const bad = await run(b, `mutation { update_flow_project(input: { flow_id: "${flow.id}", project_id: "${crypto.randomUUID()}" }) { id } }`);
      expect(bad.errors![0]!.originalError.code).toBe("NotFound");
      await ok(b, `mutation { delete_flow_group(input: { flow_group_id: "${group}" }) { success } }`);
      expect(await count(b, "SELECT count(*) AS n FROM flow_group")).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM flow")).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM flow_run")).toBe(0);
    });

    test("delete_agent forgets the agent; the runs it took keep their history", async () => {
      const b = await openTestBackend({ kind });
      const agent = (await ok(b, `mutation { register_agent(input: { type: "LocalAgent", name: "a", labels: [], tenant_id: "${DEFAULT_TENANT.id}" }) { id } }`)).register_agent.id;
      await ok(b, `mutation ($id: UUID!) { delete_agent(input: { agent_id: $id }) { success } }`, { id: agent });
      expect(await count(b, "SELECT count(*) AS n FROM agent")).toBe(0);
      const again = await run(b, `mutation ($id: UUID!) { delete_agent(input: { agent_id: $id }) { success } }`, { id: agent });
      expect(again.errors![0]!.originalError.code).toBe("NotFound");
    });

    test("agent configs: create_agent_config, update_agent_config, delete_agent_config, and register_agent linking one", async () => {
      const b = await openTestBackend({ kind });
      const created = await ok(
        b,
        `mutation ($input: create_agent_config_input!) { create_agent_config(input: $input) { id } }`,
        { input: { tenant_id: DEFAULT_TENANT.id, name: "gpu", settings: { is_healthy: true, labels: ["gpu"] } } },
      );
      const configId = created.create_agent_config.id;
      const settingsOf = async () => {
        const r = await row(b, "SELECT name, settings FROM agent_config WHERE id = $id", { id: configId });
        return { name: r.name, settings: typeof r.settings === "string" ? JSON.parse(r.settings) : r.settings };
      };
      expect(await settingsOf()).toEqual({ name: "gpu", settings: { is_healthy: true, labels: ["gpu"] } });
      // No name or settings: a nameless config with {} (as Server).
      const bare = (await ok(b, `mutation { create_agent_config(input: {}) { id } }`)).create_agent_config.id;
      expect(await row(b, "SELECT name, settings FROM agent_config WHERE id = $id", { id: bare })).toMatchObject({ name: null });

      // Only the fields given change.
      const update = `mutation ($input: update_agent_config_input!) { update_agent_config(input: $input) { success error } }`;
      expect(await ok(b, update, { input: { agent_config_id: configId, settings: { is_healthy: false } } })).toEqual({ update_agent_config: { success: true, error: null } });
      expect(await settingsOf()).toEqual({ name: "gpu", settings: { is_healthy: false } });
      await ok(b, update, { input: { agent_config_id: configId, name: "renamed" } });
      expect(await settingsOf()).toEqual({ name: "renamed", settings: { is_healthy: false } });

      // register_agent as Prefect's client sends it: the agent is linked to the config.
      const register = `mutation ($input: register_agent_input!) { register_agent(input: $input) { id } }`;
      const input = { type: "LocalAgent", name: "agent", labels: [], tenant_id: DEFAULT_TENANT.id, agent_config_id: configId };
      const agentId = (await ok(b, register, { input })).register_agent.id;
      expect(await row(b, "SELECT agent_config_id FROM agent WHERE id = $id", { id: agentId })).toEqual({ agent_config_id: configId });
      // The same agent started with another config (or none) is the same agent, linked to what it now runs with.
      expect((await ok(b, register, { input: { ...input, agent_config_id: bare } })).register_agent.id).toBe(agentId);
      expect(await row(b, "SELECT agent_config_id FROM agent WHERE id = $id", { id: agentId })).toEqual({ agent_config_id: bare });
      await ok(b, register, { input: { ...input, agent_config_id: configId } });

      // Deleting the config leaves the agent, linked to none.
      const remove = `mutation ($id: UUID!) { delete_agent_config(input: { agent_config_id: $id }) { success } }`;
      expect(await ok(b, remove, { id: configId })).toEqual({ delete_agent_config: { success: true } });
      expect(await count(b, "SELECT count(*) AS n FROM agent_config WHERE id = $id", { id: configId })).toBe(0);
      expect(await row(b, "SELECT agent_config_id FROM agent WHERE id = $id", { id: agentId })).toEqual({ agent_config_id: null });
    });

    test("agent configs: bad input gets one clear error and writes nothing", async () => {
      const b = await openTestBackend({ kind });
      const missing = crypto.randomUUID();
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        [`mutation ($input: register_agent_input!) { register_agent(input: $input) { id } }`, { input: { type: "LocalAgent", agent_config_id: missing } }, `Agent config ${missing} not found`, "NotFound"],
        [`mutation ($input: create_agent_config_input!) { create_agent_config(input: $input) { id } }`, { input: { settings: [1, 2] } }, "settings must be a JSON object, got [1,2]", "Validation"],
        [`mutation ($input: create_agent_config_input!) { create_agent_config(input: $input) { id } }`, { input: { settings: "x" } }, 'settings must be a JSON object, got "x"', "Validation"],
        [`mutation ($input: create_agent_config_input!) { create_agent_config(input: $input) { id } }`, { input: { tenant_id: missing } }, `tenant_id ${missing} is not a tenant here`, "Validation"],
        [`mutation ($input: update_agent_config_input!) { update_agent_config(input: $input) { success } }`, { input: { agent_config_id: missing, name: "x" } }, `Agent config ${missing} not found`, "NotFound"],
        [`mutation ($input: update_agent_config_input!) { update_agent_config(input: $input) { success } }`, { input: { agent_config_id: missing, settings: 3 } }, "settings must be a JSON object, got 3", "Validation"],
        [`mutation ($id: UUID!) { delete_agent_config(input: { agent_config_id: $id }) { success } }`, { id: missing }, `Agent config ${missing} not found`, "NotFound"],
      ];
      for (const [doc, variables, message, code] of cases) {
        const r = await run(b, doc, variables);
        expect(r.errors).toHaveLength(1);
        expect(r.errors![0]!.message).toStartWith(message);
        expect(r.errors![0]!.originalError.code).toBe(code);
      }
      const badId = await run(b, `mutation ($id: UUID!) { delete_agent_config(input: { agent_config_id: $id }) { success } }`, { id: "nope" });
      expect(badId.errors![0]!.message).toContain('invalid uuid: "nope"');
      const big = await run(b, `mutation ($input: create_agent_config_input!) { create_agent_config(input: $input) { id } }`, { input: { settings: { blob: "x".repeat(1_000_001) } } });
      expect(big.errors![0]!.message).toMatch(/^settings is \d+ bytes of JSON, more than an agent config may hold \(1000000\)$/);
      expect(await count(b, "SELECT count(*) AS n FROM agent_config")).toBe(0);
      expect(await count(b, "SELECT count(*) AS n FROM agent")).toBe(0);
    });

    test("the queries get_task_run_info and mapped_children", async () => {
      const b = await openTestBackend({ kind });
      const { runId, taskRun, running } = await flowWithRun(b);
      await running();
      const children = await b.services.getOrCreateMappedTaskRuns({ flowRunId: runId, taskSlug: "a-1", count: 3 });
      b.clock.advance(1000);
      await b.services.setTaskRunStates([{ taskRunId: children[0]!.id, version: children[0]!.version, state: { type: "Running" } }]);
      const r = await run(
        b,
        `query ($id: UUID!) {
          info: get_task_run_info(task_run_id: $id) { id version state serialized_state }
          children: mapped_children(task_run_id: $id) { min_start_time max_end_time state_counts }
        }`,
        { id: taskRun.id },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.info).toMatchObject({ id: taskRun.id, version: 1, state: "Pending", serialized_state: { type: "Pending" } });
      expect(r.data!.children).toEqual({ min_start_time: b.clock.iso(), max_end_time: null, state_counts: { Pending: 2, Running: 1 } });
      // As Prefect Server: a task run it does not know has no children (no error).
      const unknown = await run(b, `query ($id: UUID!) { mapped_children(task_run_id: $id) { min_start_time max_end_time state_counts } }`, {
        id: crypto.randomUUID(),
      });
      expect(unknown.errors).toBeUndefined();
      expect(unknown.data!.mapped_children).toEqual({ min_start_time: null, max_end_time: null, state_counts: {} });
    });

    test("Cloud's and multi-tenant operations answer a clear 'not supported' error", async () => {
      const b = await openTestBackend({ kind });
      for (const [doc, text] of [
        [`mutation { create_tenant(input: { name: "t", slug: "t" }) { id } }`, "create_tenant is not supported: prefectlite has one tenant"],
        [`mutation { create_cloud_hook(input: { type: WEBHOOK, states: ["Failed"] }) { id } }`, "create_cloud_hook is not supported"],
        [`mutation { set_secret(input: { name: "s", value: "v" }) { success } }`, "set_secret is not supported"],
      ] as const) {
        const r = await run(b, doc);
        expect(r.errors![0]!.message).toStartWith(text);
        expect(r.errors![0]!.extensions!.code).toBe("NOT_SUPPORTED");
      }
      expect(await count(b, "SELECT count(*) AS n FROM agent")).toBe(0);
    });
  });
});
