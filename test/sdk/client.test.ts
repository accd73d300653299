/** The SDK's Client and flow.register(), on the embedded database of a temp PREFECTLITE_HOME. */
import { expect, test } from "bun:test";
import { Client, Flow, Parameter, task } from "../../src/index.ts";
import { useTempHome } from "../helpers.ts";

useTempHome();

const double = task({ name: "double" }, (x: number) => x * 2);
const flow = new Flow("doubler", () => {
  double(Parameter("x", { default: 1 }));
});

test("flow.register() returns the flow id, the same id while unchanged, and runs can be created from it", async () => {
  const client = new Client();
  try {
    await client.createProject("sdk");
    const id = await flow.register("sdk", { labels: ["gpu"] });
    expect(await flow.register("sdk", { labels: ["gpu"] })).toBe(id);

    const runId = await client.createFlowRun({ flowId: id, parameters: { x: 21 }, runName: "from-sdk" });
    const data = await client.graphql<{ flow_run_by_pk: { name: string; labels: string[]; parameters: unknown; flow: { storage: unknown } } }>(
      `query ($id: uuid!) { flow_run_by_pk(id: $id) { name labels parameters flow { storage } } }`,
      { id: runId },
    );
    expect(data.flow_run_by_pk).toMatchObject({ name: "from-sdk", labels: ["gpu"], parameters: { x: 21 } });
    expect(data.flow_run_by_pk.flow.storage).toEqual({ type: "Local", path: Bun.main });
  } finally {
    await client.close();
  }
});

test("flow.register() into a missing project says how to create it", async () => {
  await expect(flow.register("missing")).rejects.toThrow("Project 'missing' does not exist");
});

test("flow.register({ projectName, idempotencyKey }) works as Prefect's register(project_name=…); a snake_case or missing project is one clear line", async () => {
  const client = new Client();
  try {
    await client.createProject("sdk");
    const id = await flow.register({ projectName: "sdk", idempotencyKey: "k1" });
    expect(await flow.register("sdk")).toBe(id);
  } finally {
    await client.close();
  }
  await expect(flow.register({ project_name: "sdk" } as never)).rejects.toThrow("flow.register: options are camelCase in TypeScript: use projectName instead of project_name");
  await expect(flow.register({} as never)).rejects.toThrow(`flow 'doubler': register needs a project: flow.register("project") or flow.register({ projectName: "project" })`);
});
