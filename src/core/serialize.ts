import type { Flow, Storage } from "./flow.ts";
import { upstreamSlugs } from "./graph.ts";
import type { ParameterType } from "./parameter-types.ts";
import type { RunConfigType } from "./run-config.ts";
import type { SerializedSchedule } from "./schedule/schedule.ts";
import { PREFECTLITE_VERSION } from "./version.ts";

export interface SerializedTask {
  slug: string;
  name: string;
  kind: "task" | "parameter";
  mapped: boolean;
  tags: string[];
  maxRetries: number;
  retryDelayMs: number;
  timeoutMs: number | null;
  trigger: string;
  skipOnUpstreamSkip: boolean;
  logStdout: boolean;
  result: { type: "LocalResult"; dir: string | null; location: string | null } | null;
  /** Constant (non-handle) arguments by position; values JSON cannot hold are described by type. */
  constants: Record<string, unknown>;
  /** Digest of the task function's source, so a code change is a change of the flow. */
  sourceDigest: string | null;
}

export interface SerializedEdge {
  upstream: string;
  downstream: string;
  /**
   * The argument the upstream result feeds, or null for an ordering-only edge: its position for a
   * TypeScript task (whose arguments are positional), its name in a Python flow (Prefect's form).
   */
  key: number | string | null;
  mapped: boolean;
}

export interface SerializedParameter {
  name: string;
  slug: string;
  default: unknown;
  required: boolean;
  /**
   * The JSON type its values must have (core/parameter-types.ts). Left out when it is "any", so
   * that a flow without typed parameters keeps the serialized hash it had before types existed.
   */
  type?: ParameterType;
}

export interface SerializedFlow {
  name: string;
  tasks: SerializedTask[];
  edges: SerializedEdge[];
  parameters: SerializedParameter[];
  referenceTasks: string[];
  schedule: SerializedSchedule | null;
  /** `type` is left out for a UniversalRun (so that its hash is the one it had before run configs had types). */
  runConfig: { type?: RunConfigType; env: Record<string, string>; labels: string[] };
  result: { type: "LocalResult"; dir: string | null; location: string | null } | null;
  storage: Storage | null;
  formatVersion: 1;
  /** The prefectlite that serialized the flow (Prefect's `core_version`); not part of the hash. */
  coreVersion?: string;
}

/**
 * Which engine executes a registered flow: prefectlite's own (TypeScript flows) or Prefect Core's
 * (Python flows registered by Prefect 1's `flow.register()`). A Python flow's storage is Prefect's
 * serialized storage, which always carries Prefect's `__version__` key; prefectlite's never does.
 */
export type FlowRuntime = "typescript" | "python";

/** Prefect Core's serialized storage (a Python flow's): the Prefect version that wrote it, else null. */
export function prefectCoreStorageVersion(storage: unknown): string | null {
  const v = storage !== null && typeof storage === "object" ? (storage as Record<string, unknown>).__version__ : undefined;
  return typeof v === "string" ? v : null;
}

export function serializeFlow(flow: Flow): SerializedFlow {
  const g = flow.graph;
  const tasks: SerializedTask[] = [];
  const edges: SerializedEdge[] = [];
  for (const node of g.nodes) {
    if (node.kind === "parameter") {
      tasks.push({
        slug: node.slug,
        name: node.name,
        kind: "parameter",
        mapped: false,
        tags: [],
        maxRetries: 0,
        retryDelayMs: 0,
        timeoutMs: null,
        trigger: "all_successful",
        skipOnUpstreamSkip: true,
        logStdout: false,
        result: null,
        constants: {},
        sourceDigest: null,
      });
      continue;
    }
    const d = node.definition;
    const constants: Record<string, unknown> = {};
    node.args.forEach((a, i) => {
      if (a.kind === "constant") constants[String(i)] = jsonSafe(a.value);
      else edges.push({ upstream: a.slug, downstream: node.slug, key: i, mapped: node.mappedArgs?.[i] ?? false });
    });
    const dataUpstream = new Set(node.args.flatMap((a) => (a.kind === "ref" ? [a.slug] : [])));
    for (const up of upstreamSlugs(node)) {
      if (!dataUpstream.has(up)) edges.push({ upstream: up, downstream: node.slug, key: null, mapped: false });
    }
    tasks.push({
      slug: node.slug,
      name: d.name,
      kind: "task",
      mapped: node.mappedArgs !== undefined,
      tags: [...d.tags],
      maxRetries: d.maxRetries,
      retryDelayMs: d.retryDelayMs,
      timeoutMs: d.timeoutMs ?? null,
      trigger: d.trigger.name,
      skipOnUpstreamSkip: d.skipOnUpstreamSkip,
      logStdout: d.logStdout,
      result: d.result ? d.result.toJSON() : null,
      constants,
      sourceDigest: digest(d.fn.toString()).slice(0, 16),
    });
  }
  const rc = flow.runConfig;
  return {
    name: flow.name,
    tasks,
    edges,
    parameters: g.parameters.map((p) => ({
      name: p.name,
      slug: p.slug,
      default: p.hasDefault ? jsonSafe(p.default) : null,
      required: p.required,
      ...(p.type !== "any" ? { type: p.type } : {}),
    })),
    referenceTasks: [...g.referenceSlugs],
    schedule: flow.schedule ? flow.schedule.toJSON() : null,
    runConfig: { ...(rc.type !== "UniversalRun" ? { type: rc.type } : {}), env: { ...rc.env }, labels: [...rc.labels].sort() },
    result: flow.options.result ? flow.options.result.toJSON() : null,
    storage: flow.storage ?? null,
    formatVersion: 1,
    coreVersion: PREFECTLITE_VERSION,
  };
}

/**
 * The flow's identity for registration: a digest of everything but where it is stored and which
 * prefectlite serialized it, so the same source gives the same hash wherever the file lives (and
 * an upgrade alone registers nothing new).
 */
export function serializedHash(serialized: SerializedFlow): string {
  const { storage: _storage, coreVersion: _coreVersion, ...identity } = serialized;
  return digest(canonicalJSON(identity));
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}

/** SHA-256 of a text's UTF-8 bytes, as lowercase hex. */
export type Sha256Hex = (text: string) => string;

let sha256Hex: Sha256Hex | undefined;

/**
 * The SHA-256 the digests here use. Core has none of its own (no Bun APIs here): the CLI gives
 * it Bun's. Without one, node:crypto is loaded on first use (a local run never hashes); its
 * first load costs ~3 ms of a process's start (it brings Node's streams with it), Bun's ~0.1 ms.
 */
export function useSha256Hex(fn: Sha256Hex): void {
  sha256Hex = fn;
}

function digest(text: string): string {
  sha256Hex ??= nodeSha256Hex();
  return sha256Hex(text);
}

function nodeSha256Hex(): Sha256Hex {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return (text) => createHash("sha256").update(text).digest("hex");
}

function jsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? { $unserializable: typeof value } : JSON.parse(text);
  } catch {
    return { $unserializable: typeof value };
  }
}
