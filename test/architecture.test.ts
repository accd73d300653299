/**
 * docs/architecture.md's "who may import whom", checked over every import in src/ (static,
 * re-exports and dynamic imports with a literal path). That page says where the table departs
 * from DESIGN.md and why.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/**
 * Layer → the other layers it may import: the table of docs/architecture.md ("Who may import
 * whom"), read here so that the map and the check cannot drift apart. A new folder under src/
 * must be added there (with why): the first test below fails until it is. Its first row lists
 * the layers every layer but core may import.
 */
function readImportTable(): { mayImport: Record<string, readonly string[]>; shared: readonly string[] } {
  const doc = readFileSync(resolve(import.meta.dir, "../docs/architecture.md"), "utf8");
  const table = /<!-- import-table -->([\s\S]*?)<!-- \/import-table -->/.exec(doc)?.[1];
  if (!table) throw new Error("docs/architecture.md has no <!-- import-table --> … <!-- /import-table --> block");
  const mayImport: Record<string, readonly string[]> = {};
  let shared: readonly string[] = [];
  for (const line of table.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells.length !== 2 || cells[0] === "layer" || /^-+$/.test(cells[0]!)) continue;
    const names = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (cells[0] === "(every layer but core)") shared = names;
    else mayImport[cells[0]!.replace(/`/g, "")] = names;
  }
  return { mayImport, shared };
}

const { mayImport: MAY_IMPORT, shared: SHARED } = readImportTable();

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

  test("each import goes only where docs/architecture.md's table allows", () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of files) {
      const from = layerOf(file);
      for (const { specifier, target } of internal(file)) {
        checked++;
        const to = layerOf(target);
        if (to === from || isVersionRead(file, target)) continue;
        const allowed = MAY_IMPORT[from] ?? [];
        if (allowed.includes(to) || (SHARED.includes(to) && from !== "core")) continue;
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
