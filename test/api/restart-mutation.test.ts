import { describe, expect, test } from "bun:test";
import { graphql } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs, type MutationContext } from "../../src/api/mutations.ts";
import { scalarResolvers, scalarTypeDefs } from "../../src/api/scalars.ts";
import { openTestBackend, registerFlow, row } from "../services/fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const schema = createSchema<MutationContext>({
    typeDefs: [scalarTypeDefs, `type Query { ok: Boolean }`, mutationTypeDefs],
    resolvers: [scalarResolvers, mutationResolvers] as any,
  });

  const RESTART = `mutation ($input: restart_flow_run_input!) {
    restart_flow_run(input: $input) { id state version message labels restarted_task_runs kept_task_runs }
  }`;

  describe("restart_flow_run", () => {
    test("restarts a Failed run and says what it did; restarting it again while Scheduled is a GraphQL error naming the problem", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b, { tasks: ["a-1", "b-1"] })).id;
      const id = (await b.services.createFlowRun({ flowId })).id;
      await b.services.setFlowRunStates([{ flowRunId: id, version: 1, state: { type: "Failed" } }]);
      const contextValue = { services: b.services, agentId: undefined };

      const ok = await graphql({ schema, source: RESTART, variableValues: { input: { flow_run_id: id, restarted_by: "marvin" } }, contextValue });
      expect(ok.errors).toBeUndefined();
      expect(ok.data!.restart_flow_run).toEqual({
        id,
        state: "Scheduled",
        version: 3,
        message: "Flow run restarted by marvin: 2 task runs go again, 0 keep their states",
        labels: [],
        restarted_task_runs: 2,
        kept_task_runs: 0,
      });
      expect((await row(b, "SELECT state FROM flow_run WHERE id = $id", { id })).state).toBe("Scheduled");

      const again = await graphql({ schema, source: RESTART, variableValues: { input: { flow_run_id: id } }, contextValue });
      expect(again.errors?.map((e) => e.message)).toEqual([
        `Flow run ${id} was not restarted: it is Scheduled, not finished: only a run that failed or was cancelled can be restarted (cancel it first to stop it)`,
      ]);
    });
  });
});
