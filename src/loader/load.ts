import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { PrefectliteError } from "../core/errors.ts";
import { isFlow, type Flow, type Storage } from "../core/flow.ts";
import { prefectCoreStorageVersion } from "../core/serialize.ts";
import * as sdk from "../index.ts";
import * as helloWorld from "../hello-world.ts";

/** Modules built into prefectlite, by every name a user may write for them. */
const BUILTIN_MODULES: Record<string, Record<string, unknown>> = {
  "prefectlite.hello_world": helloWorld,
  "prefectlite/hello_world": helloWorld,
};

let pluginInstalled = false;

/**
 * Make `import … from "prefectlite"` in user files resolve to this process's own SDK (one module
 * instance, even where a node_modules/prefectlite exists or none does).
 */
export function installSdkResolver(): void {
  if (pluginInstalled) return;
  pluginInstalled = true;
  Bun.plugin({
    name: "prefectlite-sdk",
    setup(build) {
      build.module("prefectlite", () => ({ exports: { ...sdk }, loader: "object" }));
      build.module("prefectlite/hello_world", () => ({ exports: { ...helloWorld }, loader: "object" }));
    },
  });
}

export interface LoadedFlows {
  /** What the user named: the path or module as given. */
  source: string;
  storage: Storage;
  flows: Flow[];
}

let importGeneration = 0;

/**
 * `true` imports the file again even if this process imported it before; "if-changed" does so
 * only when its modification time or size changed since this process last loaded it that way
 * (a long-lived process executing many runs of one file: each fresh import is a new module
 * instance that is never freed). Files it imports are not re-read either way.
 */
export type Freshness = boolean | "if-changed";

const loadedIfChanged = new Map<string, { stamp: string; loaded: LoadedFlows }>();

/** Import a flow file and collect every flow it exports. */
export async function loadFlowsFromFile(path: string, options: { fresh?: Freshness } = {}): Promise<LoadedFlows> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new PrefectliteError("Validation", `Path '${path}' doesn't exist`);
  const stat = statSync(absolute);
  if (stat.isDirectory()) throw new PrefectliteError("Validation", `Path '${path}' is a folder, not a flow file`);
  const stamp = `${stat.mtimeMs}:${stat.size}`;
  if (options.fresh === "if-changed") {
    const cached = loadedIfChanged.get(absolute);
    if (cached?.stamp === stamp) return cached.loaded;
  }
  installSdkResolver();
  const specifier = options.fresh ? `${absolute}?v=${++importGeneration}` : absolute;
  const mod = await importOrExplain(specifier, path);
  const loaded = collect(path, { type: "Local", path: absolute }, mod);
  if (options.fresh === "if-changed") loadedIfChanged.set(absolute, { stamp, loaded });
  return loaded;
}

/** Import a module by name (`prefectlite.hello_world`, a package, or a path relative to the current folder). */
export async function loadFlowsFromModule(name: string): Promise<LoadedFlows> {
  const builtin = BUILTIN_MODULES[name];
  if (builtin) return collect(name, { type: "Module", module: name }, builtin);
  installSdkResolver();
  let resolved: string;
  try {
    resolved = Bun.resolveSync(name, process.cwd());
  } catch {
    throw new PrefectliteError("Validation", `Module '${name}' could not be found`);
  }
  const mod = await importOrExplain(resolved, name);
  return collect(name, { type: "Module", module: name }, mod);
}

/** Load from a registered flow's storage. */
export async function loadFlowsFromStorage(storage: Storage, options: { fresh?: Freshness } = {}): Promise<LoadedFlows> {
  const prefectVersion = prefectCoreStorageVersion(storage);
  if (prefectVersion !== null) {
    throw new PrefectliteError(
      "Validation",
      `this is a Python flow (registered by Prefect Core ${prefectVersion}, ${storage.type} storage): prefectlite cannot execute it; Prefect's own agent does (prefect agent local start)`,
    );
  }
  return storage.type === "Local" ? await loadFlowsFromFile(storage.path, options) : await loadFlowsFromModule(storage.module);
}

async function importOrExplain(specifier: string, shown: string): Promise<Record<string, unknown>> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    throw new PrefectliteError("FlowLoad", `Failed to load '${shown}': ${describeImportError(e)}`, { cause: e });
  }
}

/** One line for a failed import: Bun's build errors carry their position; runtime errors their message. */
function describeImportError(e: unknown): string {
  const err = e as { message?: string; position?: { line?: number; column?: number }; errors?: unknown[] };
  const first = Array.isArray(err?.errors) && err.errors.length ? (err.errors[0] as typeof err) : err;
  const message = String(first?.message ?? e).split("\n")[0]!;
  const pos = first?.position;
  return pos?.line ? `${message} (line ${pos.line}${pos.column !== undefined ? `, column ${pos.column}` : ""})` : message;
}

function collect(source: string, storage: Storage, mod: Record<string, unknown>): LoadedFlows {
  const flows: Flow[] = [];
  for (const value of Object.values(mod)) {
    if (isFlow(value) && !flows.includes(value)) flows.push(value);
  }
  for (const flow of flows) {
    flow.storage = storage;
    try {
      void flow.graph;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new PrefectliteError("FlowLoad", `Failed to build flow '${flow.name}' from '${source}': ${message.split("\n")[0]}`, { cause: e });
    }
  }
  return { source, storage, flows };
}

/** Pick one flow by name, or the only one; errors name what was found. */
export function selectFlow(loaded: LoadedFlows, name?: string): Flow {
  const names = loaded.flows.map((f) => `'${f.name}'`).join(", ");
  if (loaded.flows.length === 0) throw new PrefectliteError("Validation", `Found no flows at ${loaded.source}`);
  if (name !== undefined) {
    const match = loaded.flows.find((f) => f.name === name);
    if (!match) throw new PrefectliteError("Validation", `Did not find '${name}' in flows at ${loaded.source}. Found ${names}`);
    return match;
  }
  if (loaded.flows.length > 1) {
    throw new PrefectliteError("Validation", `Found multiple flows at ${loaded.source}: ${names}. Specify a flow name to run with --name`);
  }
  return loaded.flows[0]!;
}

