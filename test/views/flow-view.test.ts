import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { UniversalRun } from "../../src/core/run-config.ts";
import { Flow, FlowView, Parameter, task } from "../../src/index.ts";
import { Seeder } from "./seed.ts";
import { errorOf } from "../helpers.ts";

const greet = task({ name: "greet" }, (name: string) => `hi ${name}`);
const greetFlow = (tag = "") =>
  new Flow("greeter", () => {
    greet(Parameter("name", { default: `world${tag}` }));
  }, { runConfig: { labels: ["blue"], env: { A: "1" } } });

let seed: Seeder;
beforeEach(async () => {
  seed = await Seeder.open();
});
afterEach(() => seed.close());


describe("FlowView", () => {
  test("fromFlowName gives every member of the registered flow", async () => {
    const flow = greetFlow();
    flow.storage = { type: "Local", path: "/tmp/greeter.ts" };
    const flowId = await seed.register(flow);
    const view = await FlowView.fromFlowName("greeter", seed.deps);
    expect(view.flowId).toBe(flowId);
    expect(view.name).toBe("greeter");
    expect(view.projectName).toBe("test");
    expect(view.version).toBe(1);
    expect(view.archived).toBe(false);
    expect(view.coreVersion).toBe(pkg.version);
    expect(view.runConfig).toBeInstanceOf(UniversalRun);
    expect(view.runConfig?.toJSON()).toEqual({ type: "UniversalRun", labels: ["blue"], env: { A: "1" } });
    expect(view.storage).toEqual({ type: "Local", path: "/tmp/greeter.ts" });
    expect(view.parameters).toEqual([{ name: "name", slug: "name", default: "world", required: false, type: "string" }]);
    expect(view.schedule).toBeNull();
    expect(view.flowGroupId).toMatch(/^[0-9a-f-]{36}$/);
    expect(view.versionGroupId).toBeString();
    expect(view.settings).toMatchObject({ heartbeat_enabled: true });
    expect(view.serializedFlow?.name).toBe("greeter");
  });

  test("fromFlowId and fromFlowGroupId find the same flow; the group gives its newest version", async () => {
    const v1 = await seed.register(greetFlow());
    const first = await FlowView.fromFlowId(v1, seed.deps);
    const v2 = await seed.register(greetFlow("!"));
    const newest = await FlowView.fromFlowGroupId(first.flowGroupId, seed.deps);
    expect(newest.flowId).toBe(v2);
    expect(newest.version).toBe(2);
    const old = await first.getLatest();
    expect(old).not.toBe(first);
    expect(old.archived).toBe(true);
    expect(first.archived).toBe(false); // the snapshot itself never changes
    expect((await FlowView.fromFlowName("greeter", seed.deps)).flowId).toBe(v2);
  });

  test("is an immutable snapshot", async () => {
    await seed.register(greetFlow());
    const view = await FlowView.fromFlowName("greeter", seed.deps);
    expect(Object.isFrozen(view)).toBe(true);
    expect(() => ((view as { name: string }).name = "other")).toThrow();
    expect(() => (view.runConfig!.labels as string[]).push("x")).toThrow();
  });

  test("a name in several projects is an error asking for projectName; with it the lookup works", async () => {
    await seed.register(greetFlow(), "alpha");
    const betaId = await seed.register(greetFlow(), "beta");
    const e = await errorOf(FlowView.fromFlowName("greeter", seed.deps));
    expect(e.code).toBe("Validation");
    expect(e.message).toBe("Flow 'greeter' exists in several projects (alpha, beta): pass projectName to say which");
    const beta = await FlowView.fromFlowName("greeter", { ...seed.deps, projectName: "beta" });
    expect(beta.flowId).toBe(betaId);
    expect(beta.projectName).toBe("beta");
  });

  test("unknown names and ids are clear NotFound errors", async () => {
    await seed.register(greetFlow());
    expect((await errorOf(FlowView.fromFlowName("nope", seed.deps))).message).toBe("No flow named 'nope': register it first");
    expect((await errorOf(FlowView.fromFlowName("greeter", { ...seed.deps, projectName: "gamma" }))).message).toBe(
      "No flow named 'greeter' in project 'gamma': register it first",
    );
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await errorOf(FlowView.fromFlowId(missing, seed.deps))).toMatchObject({ code: "NotFound", message: `Flow ${missing} not found` });
    expect((await errorOf(FlowView.fromFlowGroupId(missing, seed.deps))).code).toBe("NotFound");
    expect(await errorOf(FlowView.fromFlowId("not-an-id", seed.deps))).toMatchObject({
      code: "NotFound",
      message: 'Flow "not-an-id" not found: flow ids are UUIDs',
    });
  });

  test("an archived-only name is not found (only live versions are looked up by name)", async () => {
    const id = await seed.register(greetFlow());
    await seed.client.graphql(`mutation ($input: archive_flow_input!) { archive_flow(input: $input) { success } }`, { input: { flow_id: id } });
    expect((await errorOf(FlowView.fromFlowName("greeter", seed.deps))).code).toBe("NotFound");
    expect((await FlowView.fromFlowId(id, seed.deps)).archived).toBe(true);
  });
});

