import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { PrefectliteError } from "../core/errors.ts";

/** Flow files named by the user: files as given, folders as their top-level .ts files (no tests, no .d.ts). */
export function expandFlowFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new PrefectliteError("Validation", `Path '${p}' doesn't exist`);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        if (isFlowFileName(f)) out.push(join(p, f));
      }
    } else out.push(p);
  }
  return [...new Set(out.map((p) => resolve(p)))];
}

export function isFlowFileName(name: string): boolean {
  return name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts");
}
