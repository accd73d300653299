import { describe, expect, test } from "bun:test";
import { graphql } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs, type MutationContext } from "../../src/api/mutations.ts";
import { scalarResolvers, scalarTypeDefs } from "../../src/api/scalars.ts";
import { openTestBackend, row, serializedFlow, type TestBackend } from "../services/fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  // The query side owns `Query`; this test supplies a minimal one of its own.
  const schema = createSchema<MutationContext>({
    typeDefs: [scalarTypeDefs, `type Query { ok: Boolean }`, mutationTypeDefs],
    resolvers: [scalarResolvers, mutationResolvers] as any,
  });

  async function run(b: TestBackend, source: string, variables: Record<string, unknown> = {}, agentId?: string) {
    const result = await graphql({ schema, source, variableValues: variables, contextValue: { services: b.services, agentId } });
    return result as { data?: Record<string, any>; errors?: ReadonlyArray<{ message: string; originalError?: any }> };
  }

  async function registered(b: TestBackend) {
    const r = await run(b, `mutation ($input: create_flow_input!) { create_flow(input: $input) { id version created } }`, {
      input: { serialized_flow: serializedFlow({ parameters: { name: "world" } }), project_id: b.projectId },
    });
    return r.data!.create_flow as { id: string; version: number };
  }

  describe("mutations", () => {
    test("create_project, create_flow and create_flow_run return ids; create_flow its version", async () => {
      const b = await openTestBackend({ kind });
      const p = await run(b, `mutation { create_project(input: { name: "other" }) { id } }`);
      expect(p.data!.create_project.id).toMatch(/^[0-9a-f-]{36}$/);
      const flow = await registered(b);
      expect(flow.version).toBe(1);
      const fr = await run(b, `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, {
        input: { flow_id: flow.id, parameters: { name: "marvin" }, labels: ["b", "a"], flow_run_name: "r1" },
      });
      const id = fr.data!.create_flow_run.id;
      expect(await row(b, "SELECT name, labels, parameters FROM flow_run WHERE id = $id", { id })).toEqual({
        name: "r1",
        labels: '["a","b"]',
        parameters: '{"name":"marvin"}',
      });
    });

    test("the camelCase aliases createFlowRun and setFlowRunState work", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registered(b);
      const created = await run(b, `mutation { createFlowRun(input: { flowId: "${flow.id}", idempotencyKey: "k", scheduledStartTime: "${b.clock.iso(1000)}" }) { id } }`);
      const id = created.data!.createFlowRun.id;
      const again = await run(b, `mutation { createFlowRun(input: { flowId: "${flow.id}", idempotencyKey: "k" }) { id } }`);
      expect(again.data!.createFlowRun.id).toBe(id);
      const set = await run(b, `mutation ($s: JSON!) { setFlowRunState(input: { flowRunId: "${id}", version: 1, state: $s }) { id status version } }`, {
        s: { type: "Running", message: "go" },
      });
      expect(set.data!.setFlowRunState).toEqual({ id, status: "SUCCESS", version: 2 });
    });

    test("set_flow_run_states with a stale version is a VersionConflict error and changes nothing", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registered(b);
      const id = (await b.services.createFlowRun({ flowId: flow.id })).id;
      const q = `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id status message } } }`;
      const ok = await run(b, q, { input: { states: [{ flow_run_id: id, version: 1, state: { type: "Running" } }] } });
      expect(ok.data!.set_flow_run_states.states).toEqual([{ id, status: "SUCCESS", message: "" }]);
      const stale = await run(b, q, { input: { states: [{ flow_run_id: id, version: 1, state: { type: "Success" } }] } });
      expect(stale.errors![0]!.originalError.code).toBe("VersionConflict");
      expect(await row(b, "SELECT state, version FROM flow_run WHERE id = $id", { id })).toEqual({ state: "Running", version: 2 });
    });

    test("set_flow_run_states without a version, as Prefect's engine sends it: made over the stored version while the version lock is off", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registered(b);
      const id = (await b.services.createFlowRun({ flowId: flow.id })).id;
      const q = `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id status version } } }`;
      const ok = await run(b, q, { input: { states: [{ flow_run_id: id, state: { type: "Running" } }] } });
      expect(ok.data!.set_flow_run_states.states).toEqual([{ id, status: "SUCCESS", version: 2 }]);
      await b.services.setFlowGroupSetting(flow.id, "version_locking_enabled", true);
      const refused = await run(b, q, { input: { states: [{ flow_run_id: id, version: null, state: { type: "Success" } }] } });
      expect(refused.errors![0]!.originalError.code).toBe("VersionConflict");
      expect(await row(b, "SELECT state, version FROM flow_run WHERE id = $id", { id })).toEqual({ state: "Running", version: 2 });
    });

    test("bad input is a GraphQL error with a code: invalid UUIDs, unknown ids, unknown state types", async () => {
      const b = await openTestBackend({ kind });
      // flow_run_id is a UUID (as Prefect Server declares it): a bad one fails the document before it runs.
      const bad = await run(b, `mutation { cancel_flow_run(input: { flow_run_id: "nope" }) { state } }`);
      expect(bad.errors![0]!.message).toMatch(/invalid uuid: "nope"/);
      const unknown = await run(b, `mutation { cancel_flow_run(input: { flow_run_id: "${crypto.randomUUID()}" }) { state } }`);
      expect(unknown.errors![0]!.originalError.code).toBe("NotFound");
      const flow = await registered(b);
      const id = (await b.services.createFlowRun({ flowId: flow.id })).id;
      const type = await run(b, `mutation { set_flow_run_states(input: { states: [{ flow_run_id: "${id}", version: 1, state: { type: "Bogus" } }] }) { states { id } } }`);
      expect(type.errors![0]!.message).toMatch(/unknown state type/);
    });

    test("the agent header's id is recorded by Submitted and used to claim runs", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registered(b);
      const agent = await run(b, `mutation { register_agent(input: { type: "local", name: "a" }) { id } }`);
      const agentId = agent.data!.register_agent.id;
      const id = (await b.services.createFlowRun({ flowId: flow.id })).id;
      const queue = await run(b, `mutation { get_runs_in_queue(input: {}) { flow_run_ids } }`, {}, agentId);
      expect(queue.data!.get_runs_in_queue.flow_run_ids).toEqual([id]);
      const claimed = await run(b, `mutation { claim_flow_runs(input: { limit: 5 }) { flow_runs { id version previous_state } } }`, {}, agentId);
      expect(claimed.data!.claim_flow_runs.flow_runs).toEqual([{ id, version: 2, previous_state: "Scheduled" }]);
      expect((await row(b, "SELECT agent_id FROM flow_run")).agent_id).toBe(agentId);
    });

    test("settings, logs, heartbeats, task runs and schedules answer with Prefect's payloads", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registered(b);
      const id = (await b.services.createFlowRun({ flowId: flow.id })).id;
      const group = (await row(b, "SELECT id FROM flow_group")).id;
      const r = await run(b, `mutation {
        a: enable_flow_version_lock(input: { flow_id: "${flow.id}" }) { success }
        b: disable_flow_heartbeat(input: { flow_id: "${flow.id}" }) { success }
        c: set_flow_group_labels(input: { flow_group_id: "${group}", labels: ["x"] }) { success }
        d: set_flow_group_default_parameters(input: { flow_group_id: "${group}", parameters: { name: "g" } }) { success }
        e: write_run_logs(input: { logs: [{ flow_run_id: "${id}", message: "hi" }, { flow_run_id: "${crypto.randomUUID()}", message: "x" }] }) { success written skipped }
        f: update_flow_run_heartbeat(input: { flow_run_id: "${id}" }) { success }
        g: get_or_create_task_run_info(input: { flow_run_id: "${id}", task_slug: "say_hello-1", map_index: 0 }) { map_index version state serialized_state }
        h: get_or_create_mapped_task_runs(input: { flow_run_id: "${id}", task_slug: "say_hello-1", count: 3 }) { task_runs { map_index } }
        i: set_schedule_active(input: { flow_id: "${flow.id}" }) { success error }
        j: cancel_flow_run(input: { flow_run_id: "${id}" }) { state }
      }`);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({
        a: { success: true },
        b: { success: true },
        c: { success: true },
        d: { success: true },
        e: { success: true, written: 1, skipped: 1 },
        f: { success: true },
        g: { map_index: 0, version: 1, state: "Pending", serialized_state: {
            type: "Pending",
            message: "Task run created",
            timestamp: b.clock.iso(),
            // Prefect Core's keys, so its StateSchema loads the state.
            __version__: "1.4.1",
            context: {},
            cached_inputs: {},
            _result: { type: "NoResultType", __version__: "1.4.1" },
          },
        },
        h: { task_runs: [{ map_index: 0 }, { map_index: 1 }, { map_index: 2 }] },
        i: { success: false, error: "The flow has no schedule (neither the flow nor its flow group)." },
        j: { state: "Cancelled" },
      });
      expect(JSON.parse((await row(b, "SELECT settings FROM flow_group")).settings)).toMatchObject({ version_locking_enabled: true, heartbeat_enabled: false });
    });
  });
});
