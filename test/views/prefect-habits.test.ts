/** Prefect 0.15 habits through the SDK: snake_case options, typed run configs, archive_flow's payload, coreVersion. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { Flow, FlowRunView, FlowView, LocalRun, Parameter, task, TaskRunView, UniversalRun } from "../../src/index.ts";
import { Seeder } from "./seed.ts";
import { errorOf } from "../helpers.ts";

const say = task({ name: "say" }, (name: string) => name);
const local = new Flow("local-run", () => void say(Parameter("name", { default: "x" })), { runConfig: new LocalRun({ env: { A: "1" }, labels: ["dev"] }) });
const plain = new Flow("plain-run", () => void say(Parameter("name", { default: "x" })), { runConfig: { labels: ["dev"] } });

let seed: Seeder;
beforeEach(async () => (seed = await Seeder.open()));
afterEach(() => seed.close());

describe("run configs are typed", () => {
  test("a LocalRun flow's view and its runs show LocalRun with its env and labels; the API's run_config carries the type", async () => {
    const flowId = await seed.register(local);
    const view = await FlowView.fromFlowId(flowId, seed.deps);
    expect(view.runConfig).toBeInstanceOf(LocalRun);
    expect(view.runConfig).toMatchObject({ type: "LocalRun", env: { A: "1" }, labels: ["dev"] });
    const run = await FlowRunView.fromFlowRunId(await seed.startRun(flowId), seed.deps);
    expect(run.runConfig?.type).toBe("LocalRun");
    const data = await seed.client.graphql<{ flow_by_pk: { run_config: unknown } }>(`query ($id: uuid!) { flow_by_pk(id: $id) { run_config } }`, { id: flowId });
    expect(data.flow_by_pk.run_config).toEqual({ type: "LocalRun", env: { A: "1" }, labels: ["dev"] });
  });

  test("a plain { labels } run config is a UniversalRun, and serializes as it did before run configs had types", async () => {
    expect(plain.runConfig).toBeInstanceOf(UniversalRun);
    expect(plain.serialize().runConfig).toEqual({ env: {}, labels: ["dev"] });
    const view = await FlowView.fromFlowId(await seed.register(plain), seed.deps);
    expect(view.runConfig?.type).toBe("UniversalRun");
  });

  test("an option run configs do not have, or an unknown type, is refused when the flow is defined", () => {
    expect(() => new Flow("x", () => {}, { runConfig: new LocalRun({ workingDir: "/tmp" } as never) })).toThrow(
      "LocalRun has no option 'workingDir': it takes env, labels and reuseProcess (flow runs start in the agent's folder)",
    );
    expect(() => new Flow("x", () => {}, { runConfig: { type: "DockerRun" } as never })).toThrow(`flow 'x': unknown run config type "DockerRun": use UniversalRun or LocalRun`);
  });

  test("create_flow_run refuses an unknown run_config type", async () => {
    const flowId = await seed.register(plain);
    await expect(seed.client.createFlowRun({ flowId, runConfig: { type: "KubernetesRun" } })).rejects.toThrow(
      `run_config.type must be UniversalRun or LocalRun (got "KubernetesRun")`,
    );
    const data = await seed.client.graphql<{ create_flow_run: unknown }>(
      `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`,
      { input: { flow_id: flowId, run_config: { type: "LocalRun", reuseProcess: "yes" } } },
    ).catch((e: Error) => e.message);
    expect(data).toBe(`run_config.reuseProcess must be true or false (got "yes")`);
  });
});

describe("Prefect's documents", () => {
  test("archive_flow(input: {flow_id}) { id success } answers with the flow id", async () => {
    const flowId = await seed.register(plain);
    const data = await seed.client.graphql<{ archive_flow: unknown }>(`mutation ($id: UUID!) { archive_flow(input: { flow_id: $id }) { id success } }`, { id: flowId });
    expect(data.archive_flow).toEqual({ id: flowId, success: true });
  });

  test("FlowView.coreVersion is the version of prefectlite that registered the flow", async () => {
    const view = await FlowView.fromFlowId(await seed.register(plain), seed.deps);
    expect(view.coreVersion).toBe(pkg.version);
  });
});

describe("snake_case options get the camelCase name to use", () => {
  test("TaskRunView.fromTaskSlug(slug, { flow_run_id }) says to use flowRunId; no flow run at all says what is missing", async () => {
    const run = await seed.startRun(await seed.register(plain));
    expect((await errorOf(TaskRunView.fromTaskSlug("say-1", { ...seed.deps, flow_run_id: run } as never))).message).toBe(
      "TaskRunView.fromTaskSlug: options are camelCase in TypeScript: use flowRunId instead of flow_run_id",
    );
    expect((await errorOf(TaskRunView.fromTaskSlug("say-1", { ...seed.deps } as never))).message).toBe(
      "TaskRunView.fromTaskSlug needs the flow run: fromTaskSlug(slug, { flowRunId }) or fromTaskSlug(slug, flowRunId)",
    );
    expect((await TaskRunView.fromTaskSlug("say-1", { ...seed.deps, flowRunId: run })).taskSlug).toBe("say-1");
  });

  test("Client.createFlowRun({ flow_id }) says to use flowId", async () => {
    const flowId = await seed.register(plain);
    const e = await errorOf(seed.client.createFlowRun({ flow_id: flowId } as never));
    expect(e).toMatchObject({ code: "Validation", message: "Client.createFlowRun: options are camelCase in TypeScript: use flowId instead of flow_id" });
    expect((await errorOf(seed.client.createFlowRun({}))).message).toBe("Client.createFlowRun needs the flow: give flowId, versionGroupId or flowGroupId");
  });
});
