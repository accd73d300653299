import { describe, expect, test } from "bun:test";
import { graphql } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs, type MutationContext } from "../../src/api/mutations.ts";
import { scalarResolvers, scalarTypeDefs } from "../../src/api/scalars.ts";
import { refusedRunEnvReason } from "../../src/core/run-env.ts";
import { submitRunForm } from "../../src/ui/run-form.ts";
import { openTestBackend, registerFlow, row, serializedFlow, type TestBackend } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const schema = createSchema<MutationContext>({
    typeDefs: [scalarTypeDefs, `type Query { ok: Boolean }`, mutationTypeDefs],
    resolvers: [scalarResolvers, mutationResolvers] as any,
  });

  async function gql(b: TestBackend, source: string, variables: Record<string, unknown>) {
    const result = await graphql({ schema, source, variableValues: variables, contextValue: { services: b.services } });
    return result as { data?: Record<string, any> | null; errors?: ReadonlyArray<{ message: string }> };
  }

  const ATTACK = "--preload=data:text/javascript;base64,cmVxdWlyZSgibm9kZTpmcyIpLndyaXRlRmlsZVN5bmMoIi90bXAvb3duZWQiLCAieCIp";

  describe("which variables a run's environment may not set", () => {
    test("the runtimes' and the loader's code-loading variables, in any case, and whole families by prefix", async () => {
      const refused = [
        "BUN_OPTIONS", "bun_options", "BUN_INSPECT", "BUN_INSPECT_CONNECT_TO", "BUN_INSPECT_PRELOAD", "BUN_INSPECT_NOTIFY",
        "BUN_RUNTIME_TRANSPILER_CACHE_PATH", "BUN_BE_BUN", "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "Ld_Preload", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "GCONV_PATH",
        "BASH_ENV", "BASH_FUNC_ls%%", "PREFECTLITE_API_URL", "PREFECTLITE_API_TOKEN", "PREFECTLITE_HOME", "PREFECTLITE_EXECUTE_INSPECT",
        "", "A=B",
      ];
      for (const name of refused) expect([name, refusedRunEnvReason(name)]).toEqual([name, expect.any(String)]);
      const allowed = ["PATH", "TZ", "HOME", "ENV", "NODE_ENV", "BUN_CONFIG_MAX_HTTP_REQUESTS", "PREFECTLITE_LOG_LEVEL", "DATABASE_URL", "OLD_PRELOAD"];
      for (const name of allowed) expect([name, refusedRunEnvReason(name)]).toEqual([name, undefined]);
    });
  });

  describe("run_config.env is checked where it is written", () => {
    test("create_flow_run with run_config.env BUN_OPTIONS is a GraphQL error naming the variable, and no run is made", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      const r = await gql(b, `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, {
        input: { flow_id: flowId, run_config: { env: { GREETING: "hi", BUN_OPTIONS: ATTACK } } },
      });
      expect(r.errors?.[0]?.message).toContain('run_config.env may not set "BUN_OPTIONS"');
      expect(r.errors?.[0]?.message).not.toContain("base64");
      expect((await row(b, "SELECT count(*) AS n FROM flow_run")).n).toBe(0);
    });

    test("create_flow_run names every refused variable, and keeps accepting ordinary ones", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      await expect(b.services.createFlowRun({ flowId, runConfig: { env: { NODE_OPTIONS: "--require x", LD_PRELOAD: "/x.so" } } })).rejects.toThrow(
        /"NODE_OPTIONS" \(.*\), "LD_PRELOAD" \(/,
      );
      await expect(b.services.createFlowRun({ flowId, runConfig: { env: { NESTED: { a: 1 } } } })).rejects.toThrow(/run_config\.env\.NESTED must be text/);
      const id = (await b.services.createFlowRun({ flowId, runConfig: { env: { GREETING: "hi", TZ: "UTC", RETRIES: 3 } } })).id;
      expect(JSON.parse((await row(b, "SELECT run_config FROM flow_run WHERE id = $id", { id })).run_config).env).toEqual({ GREETING: "hi", TZ: "UTC", RETRIES: 3 });
    });

    test("registering a flow whose runConfig.env sets LD_PRELOAD is refused (GraphQL create_flow too)", async () => {
      const b = await openTestBackend({ kind });
      const flow = serializedFlow();
      flow.runConfig = { env: { LD_PRELOAD: "/tmp/evil.so" }, labels: [] };
      await expect(b.services.createFlow({ serializedFlow: flow, projectId: b.projectId })).rejects.toThrow(/serialized_flow\.runConfig\.env may not set "LD_PRELOAD"/);
      const r = await gql(b, `mutation ($input: create_flow_input!) { create_flow(input: $input) { id } }`, {
        input: { serialized_flow: { ...flow, runConfig: { env: { BUN_INSPECT: "ws://attacker:9229" } } }, project_id: b.projectId },
      });
      expect(r.errors?.[0]?.message).toContain('may not set "BUN_INSPECT"');
      expect((await row(b, "SELECT count(*) AS n FROM flow")).n).toBe(0);
    });

    test("the UI's run form shows the refusal on the form when the flow's stored run config carries such a variable", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (await registerFlow(b)).id;
      const values = { parameters: "", runName: "", labels: "", logLevel: "DEBUG" as const, startAt: "" };
      const outcome = await submitRunForm(b.services, flowId, values, { env: { BUN_OPTIONS: ATTACK } });
      expect(outcome).toEqual({ ok: false, error: expect.stringContaining('may not set "BUN_OPTIONS"'), values });
      expect((await submitRunForm(b.services, flowId, values, { env: { GREETING: "hi" } })).ok).toBe(true);
    });
  });
});
