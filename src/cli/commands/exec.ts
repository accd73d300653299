import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { PrefectliteError } from "../../core/errors.ts";
import { installSdkResolver } from "../../loader/load.ts";
import { writeStderr } from "../../stdio.ts";
import { EXIT } from "../exit.ts";

/**
 * `prefectlite exec SCRIPT [ARGS…]`: run a user's script as `bun SCRIPT ARGS…` would, its
 * `import … from "prefectlite"` being this prefectlite's own SDK, so a script needs no install
 * (the compiled binary has no node_modules). The script sees `process.argv` as
 * `[prefectlite, SCRIPT, ARGS…]`, `Bun.main` as SCRIPT and `import.meta.main` as true.
 *
 * Returns undefined once the script's top level has run: the process then belongs to the script
 * and ends when its work does, with its exit code (`process.exitCode`, `process.exit(n)`, or 1
 * for an uncaught error). Returns 1 when the script fails while loading or at its top level.
 */
export async function execScript(script: string, args: string[]): Promise<number | undefined> {
  const absolute = resolve(script);
  if (!existsSync(absolute)) throw new PrefectliteError("Validation", `Script '${script}' doesn't exist`);
  if (statSync(absolute).isDirectory()) throw new PrefectliteError("Validation", `Script '${script}' is a folder, not a file`);
  installSdkResolver();
  process.argv = [process.execPath, absolute, ...args];
  // Bun.main has a setter (its type says read-only): the script then is the main module, as under `bun SCRIPT`.
  (Bun as { main: string }).main = absolute;
  try {
    await import(absolute);
  } catch (e) {
    writeStderr(`Error: ${describeScriptError(e, script)}\n`);
    return EXIT.runFailed;
  }
  return undefined;
}

/** One line for a script that failed: what Bun said, and where (relative to the current folder). */
function describeScriptError(e: unknown, script: string): string {
  const err = e as { name?: string; message?: string; position?: { file?: string; line?: number; column?: number }; sourceURL?: string; line?: number; column?: number };
  const message = String(err?.message ?? e).split("\n")[0]!;
  if (err?.name === "BuildMessage" || err?.name === "ResolveMessage") {
    // A syntax error, or an import that cannot be found.
    const at = err.position?.line ? ` (${shown(err.position.file || script)}:${err.position.line}:${err.position.column ?? 0})` : "";
    return `Failed to load '${script}': ${message}${at}`;
  }
  const name = e instanceof Error && err.name && err.name !== "Error" ? `${err.name}: ` : "";
  const at = err?.sourceURL && err.line ? ` (at ${shown(err.sourceURL)}:${err.line}:${err.column ?? 0})` : "";
  return `${name}${message}${at}`;
}

function shown(file: string): string {
  const path = file.startsWith("file://") ? new URL(file).pathname : file;
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}
