import { describe, expect, test } from "bun:test";
import { loadFlowsFromFile, loadFlowsFromModule, loadFlowsFromStorage, selectFlow } from "../../src/loader/load.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixture, tempDir } from "../helpers.ts";
import * as sdk from "../../src/index.ts";

describe("loading flow files", () => {
  test("collects every exported flow, named or default, and records where it came from", async () => {
    const two = await loadFlowsFromFile(fixture("two-flows.ts"));
    expect(two.flows.map((f) => f.name)).toEqual(["first", "second"]);
    expect(two.storage).toEqual({ type: "Local", path: fixture("two-flows.ts") });
    expect(two.flows[0]!.storage).toEqual(two.storage);
    const one = await loadFlowsFromFile(fixture("failing.ts"));
    expect(one.flows.map((f) => f.name)).toEqual(["failing"]);
  });

  test("'prefectlite' in a user file is this process's SDK (one module instance)", async () => {
    const { flows } = await loadFlowsFromFile(fixture("two-flows.ts"));
    expect(flows[0]).toBeInstanceOf(sdk.Flow);
  });

  test("fresh: 'if-changed' imports a file again only once it changed (a process executing many runs of it)", async () => {
    const path = join(tempDir("prefectlite-load-"), "flow.ts");
    const source = (name: string) => `import { Flow } from "prefectlite"; export const flow = new Flow(${JSON.stringify(name)}, () => {});`;
    writeFileSync(path, source("first"));
    const a = await loadFlowsFromFile(path, { fresh: "if-changed" });
    const b = await loadFlowsFromFile(path, { fresh: "if-changed" });
    expect(b.flows[0]).toBe(a.flows[0]!); // the same module: not imported again
    writeFileSync(path, source("second-version"));
    const c = await loadFlowsFromFile(path, { fresh: "if-changed" });
    expect(c.flows.map((f) => f.name)).toEqual(["second-version"]);
    const d = await loadFlowsFromFile(path, { fresh: true });
    expect(d.flows[0]).not.toBe(c.flows[0]!); // true: always again
  });

  test("picks a flow by name, or the only one; otherwise says what it found", async () => {
    const two = await loadFlowsFromFile(fixture("two-flows.ts"));
    expect(selectFlow(two, "second").name).toBe("second");
    expect(() => selectFlow(two)).toThrow("Found multiple flows at");
    expect(() => selectFlow(two)).toThrow("'first', 'second'. Specify a flow name to run with --name");
    expect(() => selectFlow(two, "third")).toThrow("Did not find 'third'");
    const none = await loadFlowsFromFile(fixture("no-flow.ts"));
    expect(() => selectFlow(none)).toThrow("Found no flows at");
  });

  test("a missing path, a folder, a syntax error and a throw at import are one-line FlowLoad/Validation errors", async () => {
    await expect(loadFlowsFromFile("nowhere/flow.ts")).rejects.toThrow("Path 'nowhere/flow.ts' doesn't exist");
    await expect(loadFlowsFromFile(fixture(""))).rejects.toThrow("is a folder, not a flow file");
    const syntax = await loadFlowsFromFile(fixture("broken-syntax.ts")).catch((e: Error) => e);
    expect(syntax).toBeInstanceOf(sdk.PrefectliteError);
    expect((syntax as Error).message).toStartWith(`Failed to load '${fixture("broken-syntax.ts")}': `);
    expect((syntax as Error).message).not.toContain("\n");
    await expect(loadFlowsFromFile(fixture("throws-at-import.ts"))).rejects.toThrow(
      `Failed to load '${fixture("throws-at-import.ts")}': database password not set`,
    );
  });

  test("the built-in hello world module under both its names", async () => {
    for (const name of ["prefectlite.hello_world", "prefectlite/hello_world"]) {
      const loaded = await loadFlowsFromModule(name);
      expect(loaded.flows.map((f) => f.name)).toEqual(["hello-world"]);
      expect(loaded.storage).toEqual({ type: "Module", module: name });
      expect(loaded.flows[0]!.graph.nodes.map((n) => n.slug)).toEqual(["name", "capitalize-1", "say_hello-1"]);
    }
    await expect(loadFlowsFromModule("no-such-module-xyz")).rejects.toThrow("Module 'no-such-module-xyz' could not be found");
  });
});

describe("loading a registered flow's storage", () => {
  test("a Python flow's storage (Prefect Core's, with its __version__) is refused with one line saying who runs it", async () => {
    const prefectStorage = { type: "Local", path: null, directory: "/home/user/.prefect/flows", flows: {}, __version__: "1.4.1" };
    await expect(loadFlowsFromStorage(prefectStorage as never)).rejects.toThrow(
      "this is a Python flow (registered by Prefect Core 1.4.1, Local storage): prefectlite cannot execute it; Prefect's own agent does (prefect agent local start)",
    );
  });
});
