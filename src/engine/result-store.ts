import { dirname, resolve } from "node:path";
import { realPaths } from "../real-paths.ts";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { describeNonJson, findNonJson } from "../core/json-value.ts";
import type { LocalResult } from "../core/results.ts";
import type { ResultLocation } from "../core/state.ts";
import { isReallyInsideFolder, ownResultFolder, resultLocationPath } from "../core/result-folder.ts";
import type { ResultReadOptions, ResultStore, ResultWriteContext } from "./ports.ts";

/**
 * Writes results as JSON files under a folder (Prefect's LocalResult, with JSON in place of
 * pickle: a result must be JSON-serializable to be persisted).
 */
export class LocalResultStore implements ResultStore {
  constructor(private readonly defaultDir: string) {}

  async write(value: unknown, config: LocalResult, ctx: ResultWriteContext): Promise<ResultLocation> {
    const dir = resolve(config.dir ?? this.defaultDir);
    const name = config.location ? renderLocation(config.location, ctx) : defaultLocation();
    const path = resolve(dir, name);
    if (!isReallyInsideFolder(dir, path, realPaths)) {
      throw new PrefectliteError("Validation", `result location '${name}' leaves the result folder ${dir}`);
    }
    const text = resultFileText(value, ctx.taskSlug);
    // Bun.write writes a small file at once: awaiting fs/promises' writeFile took a thread-pool
    // round trip, 40–80 µs per result measured here. Its own folder creation is off: when the
    // folder is missing, mkdir makes it, or fails saying why (Bun.write would only say ENOENT).
    try {
      await Bun.write(path, text, { createPath: false });
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
      await (await fsPromises()).mkdir(dirname(path), { recursive: true });
      await Bun.write(path, text, { createPath: false });
    }
    return { type: "LocalResult", location: path, dir };
  }

  async read(location: ResultLocation, options: ResultReadOptions = {}): Promise<unknown> {
    const path = await this.checkedPath(location, options);
    let text: string;
    try {
      text = await (await fsPromises()).readFile(path, "utf8");
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT") throw new PrefectliteError("NotFound", `result file ${path} no longer exists`);
      throw new PrefectliteError("Internal", `cannot read result ${path}: ${errorMessage(e)}`);
    }
    try {
      return (JSON.parse(text) as { value: unknown }).value;
    } catch {
      throw new PrefectliteError("Validation", `result file ${path} is not a prefectlite result`);
    }
  }

  /**
   * The file a location names, once it is known to lie inside this store's default folder or
   * the result's own folder, symbolic links followed: a location stored through the API can
   * never make a reader open `/etc/passwd`.
   */
  private async checkedPath(location: ResultLocation, options: ResultReadOptions): Promise<string> {
    if (typeof location.location !== "string" || location.location.includes("\0")) {
      throw new PrefectliteError("Validation", "result location is not a file name");
    }
    const defaultDir = resolve(this.defaultDir);
    const inDefault = resultLocationPath(location, defaultDir);
    if (isReallyInsideFolder(defaultDir, inDefault, realPaths)) return inDefault;
    if (options.configuredDir) {
      const folder = ownResultFolder(location, await options.configuredDir(), defaultDir);
      const path = resultLocationPath(location, folder);
      if (isReallyInsideFolder(folder, path, realPaths)) return path;
      throw outside(location, folder);
    }
    throw outside(location, defaultDir);
  }
}

/** node:fs/promises, loaded on first use: ~0.5–1 ms of a start, and a run that only writes results to an existing folder never needs it. */
const fsPromises = () => import("node:fs/promises");

function outside(location: ResultLocation, folder: string): PrefectliteError {
  return new PrefectliteError("Validation", `result location ${location.location} lies outside its result folder ${folder}: not read`);
}


/**
 * The JSON of a result file, `{"value": …}`; a value JSON would not keep as it is (a Map, NaN, a
 * function, a cycle…) is refused naming what and where, instead of being stored as `{}` or null.
 */
export function resultFileText(value: unknown, taskSlug: string): string {
  const found = findNonJson(value);
  if (found) {
    throw new PrefectliteError(
      "Validation",
      `result of task '${taskSlug}' is not JSON: ${describeNonJson(found)} (results are stored as JSON: return null, booleans, finite numbers, strings, arrays and plain objects)`,
    );
  }
  try {
    return JSON.stringify({ value: value === undefined ? null : value });
  } catch (e) {
    throw new PrefectliteError("Validation", `result of task '${taskSlug}' cannot be stored as JSON: ${errorMessage(e)}`);
  }
}

function defaultLocation(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}/${crypto.randomUUID()}.prefect_result`;
}

/** Fill `{name}` placeholders from the run context and parameters; unknown ones are an error. */
export function renderLocation(template: string, ctx: ResultWriteContext): string {
  const today = new Date().toISOString().slice(0, 10);
  const values: Record<string, unknown> = {
    ...ctx.parameters,
    flowName: ctx.flowName,
    flowRunId: ctx.flowRunId,
    flowRunName: ctx.flowRunName,
    taskName: ctx.taskName,
    taskSlug: ctx.taskSlug,
    taskRunId: ctx.taskRunId,
    mapIndex: ctx.mapIndex,
    today,
  };
  return template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    if (!(key in values)) throw new PrefectliteError("Validation", `result location '${template}': unknown placeholder {${key}}`);
    return String(values[key]).replace(/[/\\]/g, "_");
  });
}
