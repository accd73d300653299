import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { loadFlowsFromFile } from "../../src/loader/load.ts";
import { serializedHash, useSha256Hex, type SerializedFlow } from "../../src/core/serialize.ts";
import type { Flow } from "../../src/index.ts";
import { tempDir } from "../helpers.ts";

const SOURCE = `import { Flow, Parameter, task, LocalResult, Schedule, IntervalClock } from "prefectlite";

const inc = task({ name: "inc", maxRetries: 2, retryDelay: "1s", tags: ["b", "a"] }, (x: number) => x + 1);
const range = task({ name: "range" }, (n: number) => Array.from({ length: n }, (_, i) => i));
const total = task({ name: "total", result: new LocalResult({ location: "{flowRunId}.json" }) }, (xs: number[]) =>
  xs.reduce((a, b) => a + b, 0),
);

export const flow = new Flow(
  "hashed",
  () => {
    const n = Parameter("n", { default: 3 });
    total(inc.map(range(n)));
  },
  { schedule: new Schedule({ clocks: [new IntervalClock("10m")] }), runConfig: { labels: ["z", "y"], env: { A: "1" } } },
);
`;

/** Write `source` to a new file and load its flow (a fresh import each time). */
async function loadSource(source: string, dir = tempDir()): Promise<Flow> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "flow.ts");
  writeFileSync(path, source);
  const { flows } = await loadFlowsFromFile(path, { fresh: true });
  return flows[0] as Flow;
}

describe("serialize()", () => {
  test("holds the graph, parameters, schedule, run config and storage", async () => {
    const dir = tempDir();
    const s = (await loadSource(SOURCE, dir)).serialize();
    expect(s.name).toBe("hashed");
    expect(s.formatVersion).toBe(1);
    expect(s.tasks.map((t) => [t.slug, t.kind, t.mapped])).toEqual([
      ["n", "parameter", false],
      ["range-1", "task", false],
      ["inc-1", "task", true],
      ["total-1", "task", false],
    ]);
    const inc = s.tasks[2]!;
    expect(inc).toMatchObject({ name: "inc", maxRetries: 2, retryDelayMs: 1000, tags: ["a", "b"], trigger: "all_successful" });
    expect(inc.constants).toEqual({});
    expect(s.tasks[1]!.constants).toEqual({});
    expect(inc.sourceDigest).toMatch(/^[0-9a-f]{16}$/);
    expect(s.tasks[3]!.result).toEqual({ type: "LocalResult", dir: null, location: "{flowRunId}.json" });
    expect(s.edges).toEqual([
      { upstream: "n", downstream: "range-1", key: 0, mapped: false },
      { upstream: "range-1", downstream: "inc-1", key: 0, mapped: true },
      { upstream: "inc-1", downstream: "total-1", key: 0, mapped: false },
    ]);
    expect(s.parameters).toEqual([{ name: "n", slug: "n", default: 3, required: false, type: "number" }]);
    expect(s.referenceTasks).toEqual(["total-1"]);
    expect(s.schedule!.clocks[0]).toMatchObject({ type: "IntervalClock", intervalMs: 600_000 });
    expect(s.runConfig).toEqual({ env: { A: "1" }, labels: ["y", "z"] });
    expect(s.storage).toEqual({ type: "Local", path: join(dir, "flow.ts") });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe("serializedHash()", () => {
  test("is a stable hex digest: the same source gives the same hash, wherever the file lives", async () => {
    const a = await loadSource(SOURCE);
    const b = await loadSource(SOURCE);
    const moved = await loadSource(SOURCE, join(tempDir(), "elsewhere", "deeper"));
    expect(a.serializedHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(b.serializedHash()).toBe(a.serializedHash());
    expect(moved.serializedHash()).toBe(a.serializedHash());
    expect(moved.serialize().storage).not.toEqual(a.serialize().storage);
  });

  test("changes when a task's code, a default, an option, the schedule or the graph changes", async () => {
    const base = (await loadSource(SOURCE)).serializedHash();
    const variants = {
      code: SOURCE.replace("(x: number) => x + 1", "(x: number) => x + 2"),
      default: SOURCE.replace("{ default: 3 }", "{ default: 4 }"),
      option: SOURCE.replace("maxRetries: 2", "maxRetries: 3"),
      schedule: SOURCE.replace('"10m"', '"15m"'),
      graph: SOURCE.replace("total(inc.map(range(n)));", "total(inc.map(range(n)));\n    inc(n);"),
      labels: SOURCE.replace('["z", "y"]', '["z"]'),
    };
    const hashes = new Set([base]);
    for (const [what, source] of Object.entries(variants)) {
      const hash = (await loadSource(source)).serializedHash();
      expect({ what, changed: hash !== base }).toEqual({ what, changed: true });
      hashes.add(hash);
    }
    expect(hashes.size).toBe(Object.keys(variants).length + 1);
  });

  test("is the digest registrations were stored with, whichever SHA-256 the process gives core (the CLI's is Bun's)", () => {
    const flow = {
      name: "golden",
      tasks: [{ slug: "say-1", name: "say", sourceDigest: "0123456789abcdef", tags: ["b", "a"] }],
      edges: [],
      parameters: [{ name: "who", default: "wörld" }],
      storage: { type: "Module", module: "x" },
      formatVersion: 1,
      coreVersion: "9.9.9",
    } as unknown as SerializedFlow;
    // node:crypto's sha256 of the canonical JSON, as computed before core took an injected SHA-256.
    const stored = "e1e985bdcc5967282deb20fd6ab09633bf90279cdc67db2af1381358a3347867";
    const shas = {
      bun: (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex"),
      node: (text: string) => createHash("sha256").update(text).digest("hex"),
    };
    for (const [name, sha] of Object.entries(shas)) {
      useSha256Hex(sha);
      expect({ name, hash: serializedHash(flow) }).toEqual({ name, hash: stored });
    }
  });

  test("does not change for a comment or formatting elsewhere in the file", async () => {
    const base = (await loadSource(SOURCE)).serializedHash();
    const commented = (await loadSource(`// a comment at the top\n\n${SOURCE}\n// and one at the end\n`)).serializedHash();
    expect(commented).toBe(base);
  });
});
