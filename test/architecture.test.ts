/**
 * DESIGN.md's "who may import whom", checked over every import in src/ (static, re-exports and
 * dynamic imports with a literal path). README.md ("Design notes") records where this table
 * departs from DESIGN.md and why.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/**
 * Layer → the other layers it may import. A new folder under src/ must be added here (and its
 * place explained in README.md's design notes): the first test below fails until it is.
 * `settings`, `stdio` and `real-paths` (the process's configuration, its output descriptors and
 * the file system's facts about result paths) may be imported by every layer but core.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  engine: ["core"],
  loader: ["core", "index", "hello-world"],
  // The SDK's Client reaches the embedded backend through a lazy import of runtime (never static).
  sdk: ["core", "engine", "client", "runtime", "run-process"],
  storage: ["core"],
  services: ["storage", "core"],
  api: ["services", "core"],
  // The server mounts the UI's routes (DESIGN.md: "server mounts it").
  server: ["api", "services", "core", "ui"],
  ui: ["api", "services", "core"],
  loops: ["core"],
  scheduler: ["services", "client", "backed", "engine", "loader", "core", "loops"],
  agent: ["services", "client", "backed", "engine", "loader", "core", "loops", "run-process"],
  // The zombie killer and Lazarus loops: their rules are services'.
  safeguards: ["services", "loops", "core"],
  // The watcher folder also holds the wiring of its events to loader → client (re-registration).
  watcher: ["core", "loops", "loader", "client"],
  client: ["core", "services"],
  // Executes a backed flow run: the engine with a reporter over the client, the flow from the loader
  // (and loads a flow file in a child, whose command line is run-process's).
  backed: ["core", "engine", "client", "loader", "sdk", "run-process"],
  // A flow run's process, from outside it: its command, its environment, starting it, supervising
  // it (start deadline, run ended elsewhere, cancel grace), the warm-child protocol, and what to
  // write when it ends. The agent, `run --execute` and agentless sub-flows use it.
  "run-process": ["core", "client"],
  runtime: ["run-process", "backed", "server", "ui", "api", "services", "storage", "scheduler", "agent", "safeguards", "watcher", "loops", "client", "engine", "loader", "sdk", "core", "index", "hello-world"],
  cli: ["runtime", "run-process", "backed", "client", "services", "watcher", "loader", "engine", "core"],
  index: ["core", "sdk", "client", "engine"],
  "hello-world": ["index"],
  main: ["cli"],
  settings: [],
  stdio: [],
  "real-paths": [],
};

/** What loading a user flow may never pull in (statically) through the SDK entry. */
const NEVER_FROM_SDK = ["server", "ui", "api", "runtime", "cli", "scheduler", "agent", "watcher"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The layer of a file: its top folder under src/, or the file's own name for files directly in src/. */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const [top] = rel.split("/");
  return rel.includes("/") ? top! : top!.replace(/\.tsx?$/, "");
}

interface Import {
  specifier: string;
  dynamic: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/gm)) out.push({ specifier: m[1]!, dynamic: false });
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push({ specifier: m[1]!, dynamic: true });
  return out;
}

const files = sourceFiles(SRC);
/** core/version.ts alone reads package.json (its version, inlined when the binary is built). */
const isVersionRead = (file: string, target: string) =>
  relative(SRC, file) === "core/version.ts" && target === resolve(SRC, "../package.json");
const internal = (file: string) =>
  importsOf(file)
    .filter((i) => i.specifier.startsWith("."))
    .map((i) => ({ ...i, target: resolve(dirname(file), i.specifier) }));

describe("architecture", () => {
  test("every layer in src/ is in the table", () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !(l in MAY_IMPORT));
    expect(unknown).toEqual([]);
  });

  test("each import goes only where DESIGN.md's table allows", () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of files) {
      const from = layerOf(file);
      for (const { specifier, target } of internal(file)) {
        checked++;
        const to = layerOf(target);
        if (to === from || isVersionRead(file, target)) continue;
        const allowed = MAY_IMPORT[from] ?? [];
        if (allowed.includes(to) || ((to === "settings" || to === "stdio" || to === "real-paths") && from !== "core")) continue;
        violations.push(`${relative(SRC, file)} (${from}) imports ${specifier} (${to})`);
      }
    }
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(100); // the scan really sees the imports
  });

  test("core is pure: no I/O, no Bun APIs, no wall clock", () => {
    const impure: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === "core")) {
      const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const { specifier } of importsOf(file)) {
        if (/^(bun:|node:(fs|child_process|net|http|https|os|worker_threads))/.test(specifier)) impure.push(`${relative(SRC, file)}: ${specifier}`);
      }
      if (/\bBun\./.test(text)) impure.push(`${relative(SRC, file)}: Bun.*`);
      if (/Date\.now\(\)|new Date\(\)/.test(text)) impure.push(`${relative(SRC, file)}: reads the wall clock`);
      if (/process\.(env|stdout|stderr|exit)/.test(text)) impure.push(`${relative(SRC, file)}: process.*`);
    }
    expect(impure).toEqual([]);
  });

  test("loading a flow never pulls in the server: the SDK entry's static imports stay out of it", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { target, dynamic } of internal(file)) if (!dynamic) visit(target);
    };
    visit(join(SRC, "index.ts"));
    const reached = [...new Set([...seen].map(layerOf))];
    expect(reached.filter((l) => NEVER_FROM_SDK.includes(l))).toEqual([]);
    expect(reached).toContain("core");
  });
});
