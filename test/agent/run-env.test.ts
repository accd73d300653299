import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentWorld, until, type AgentWorld } from "./helpers.ts";
import { tempDir } from "../helpers.ts";

let world: AgentWorld;
afterEach(() => world?.close());

/** A module that, if Bun ever preloads it, leaves a marker file: the attack of issue 12. */
function preloadThatLeavesAMarker(): { preload: string; marker: string } {
  const dir = tempDir("prefectlite-preload-");
  const marker = join(dir, "owned");
  const preload = join(dir, "evil.ts");
  writeFileSync(preload, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "owned");\n`);
  return { preload, marker };
}

describe("an agent building a run's environment", () => {
  test("a stored run config that sets BUN_OPTIONS (old data) starts the child without it and says so, never with its value", async () => {
    world = await agentWorld();
    const { preload, marker } = preloadThatLeavesAMarker();
    const runId = await world.run(await world.flowId());
    const env = { RUN_CONFIG_KEPT: "yes", BUN_OPTIONS: `--preload=${preload}`, ld_preload: "/tmp/x.so", PREFECTLITE_API_URL: "http://127.0.0.1:1/elsewhere" };
    await world.sql("UPDATE flow_run SET run_config = $rc WHERE id = $id", { id: runId, rc: JSON.stringify({ env }) });
    const lines: string[] = [];
    const agent = world.agent({ name: "careful", log: (line: string) => lines.push(line) });
    expect(await agent.runOnce()).toBe(1);
    await until(() => world.record(runId) !== undefined, "the child to start");
    const record = world.record(runId)!;
    expect(record.env.RUN_CONFIG_KEPT).toBe("yes");
    expect(record.env.PREFECTLITE_API_URL).toBeUndefined();
    expect(record.env.PREFECTLITE_HOME).toBe(world.home);
    expect(existsSync(marker)).toBe(false);
    const warnings = lines.filter((l) => l.includes("which a run may not set"));
    expect(warnings.map((l) => l.match(/sets "([^"]+)"/)?.[1]).sort()).toEqual(["BUN_OPTIONS", "PREFECTLITE_API_URL", "ld_preload"]);
    expect(warnings.every((l) => l.includes(runId))).toBe(true);
    expect(lines.join("\n")).not.toContain(preload);
    expect(lines.join("\n")).not.toContain("elsewhere");
    await agent.stop(10_000);
  });
});
