import { validationError, errorMessage } from "../core/errors.ts";
import { CronClock, IntervalClock, type Clock } from "../core/schedule/clocks.ts";
import { Schedule, type SerializedSchedule } from "../core/schedule/schedule.ts";
import type { SerializedEdge, SerializedFlow, SerializedParameter, SerializedTask } from "../core/serialize.ts";
import { checkRunConfig } from "./run-config.ts";
import { describe, isPlainObject, listOrNone, requireJsonDepth } from "./validate.ts";

// node:zlib is loaded on first use: it costs ~7 ms of CPU at start-up, in every process with
// services (a run's child on the embedded database too), and only a Prefect flow needs it.
let gunzipSync: typeof import("node:zlib").gunzipSync | undefined;
const gunzip = (bytes: Buffer) => (gunzipSync ??= (require("node:zlib") as typeof import("node:zlib")).gunzipSync)(bytes);

/**
 * Flows in Prefect Core's serialized form (Prefect 1.x `flow.serialize()`, as its
 * `flow.register()` sends them): read into the internal shape that task and edge rows are made
 * from. Such a flow is a Python flow: prefectlite's agents never run it (core/flow-runtime.ts),
 * Prefect's own agent does. The form is told by Prefect's `__version__` key, which every object
 * Prefect serializes carries and prefectlite's own form never has.
 */

/** Task entries of a Prefect flow, mapped to the internal shape plus the columns Prefect Server keeps. */
export interface PrefectTaskEntry extends SerializedTask {
  /** Prefect's task class (`prefect.tasks.core.function.FunctionTask`): the task row's type. */
  prefectType: string | null;
  description: string | null;
  auto_generated: boolean;
  cache_key: string | null;
}

export function isPrefectCoreForm(value: unknown): boolean {
  return isPlainObject(value) && typeof value.__version__ === "string";
}

/** `create_flow_from_compressed_string`'s text: base64 of gzip of the flow's JSON. */
export function decompressSerializedFlow(text: unknown): unknown {
  if (typeof text !== "string") throw validationError(`serialized_flow must be a compressed string, got ${describe(text)}`);
  try {
    const bytes = Buffer.from(text, "base64");
    return JSON.parse(gunzip(bytes).toString("utf8"));
  } catch {
    throw validationError("Unable to decompress serialized flow");
  }
}

/**
 * The internal shape of a Prefect flow. Its tasks and edges may be missing: Prefect 1.4's
 * client registers the flow first and sends them afterwards with register_tasks / register_edges.
 */
export function parsePrefectFlow(raw: Record<string, unknown>): SerializedFlow {
  requireJsonDepth(raw, "serialized_flow");
  if (typeof raw.name !== "string" || !raw.name.trim()) throw validationError("serialized_flow.name must be a non-empty string");
  const tasks = parsePrefectTasks(listOrNone(raw.tasks, "serialized_flow.tasks"), "serialized_flow.tasks");
  const edges = firstEdgePerPair(parsePrefectEdges(listOrNone(raw.edges, "serialized_flow.edges"), new Set(tasks.map((t) => t.slug)), "serialized_flow.edges"));
  const parameters = listOrNone(raw.parameters, "serialized_flow.parameters").map((p, i): SerializedParameter => {
    if (!isPlainObject(p) || typeof p.slug !== "string" || !p.slug) throw validationError(`serialized_flow.parameters[${i}] needs a slug`);
    const name = typeof p.name === "string" && p.name ? p.name : p.slug;
    return { name, slug: p.slug, default: p.default === undefined ? null : p.default, required: p.required === true };
  });
  const referenceTasks = listOrNone(raw.reference_tasks, "serialized_flow.reference_tasks").map((t, i) => {
    const slug = isPlainObject(t) ? t.slug : t;
    if (typeof slug !== "string") throw validationError(`serialized_flow.reference_tasks[${i}] must name a task by its slug`);
    return slug;
  });
  const runConfig = raw.run_config ?? null;
  if (runConfig !== null) {
    if (!isPlainObject(runConfig) || (runConfig.labels != null && !Array.isArray(runConfig.labels))) {
      throw validationError("serialized_flow.run_config must be a run config object ({ type, env, labels, … })");
    }
    checkRunConfig(runConfig, "serialized_flow.run_config");
  }
  // The storage is what tells a Python flow's runs apart (core/serialize.ts flowRuntimeOfStorage).
  if (!isPlainObject(raw.storage) || typeof raw.storage.type !== "string" || typeof raw.storage.__version__ !== "string") {
    throw validationError("serialized_flow.storage must be Prefect's serialized storage ({ type, __version__, … }): Prefect's agent loads a Python flow from it");
  }
  return {
    name: raw.name,
    tasks,
    edges,
    parameters,
    referenceTasks,
    schedule: raw.schedule == null ? null : prefectSchedule(raw.schedule),
    runConfig: (runConfig ?? { env: {}, labels: [] }) as SerializedFlow["runConfig"],
    result: null,
    storage: (raw.storage ?? null) as SerializedFlow["storage"],
    formatVersion: 1,
    coreVersion: raw.__version__ as string,
  };
}

/** Prefect's serialized task entries (register_tasks' `serialized_tasks`, a flow's `tasks`). */
export function parsePrefectTasks(entries: unknown[], field: string): PrefectTaskEntry[] {
  const slugs = new Set<string>();
  return entries.map((t, i) => {
    const where = `${field}[${i}]`;
    if (!isPlainObject(t) || typeof t.slug !== "string" || !t.slug) throw validationError(`${where} needs a slug`);
    if (slugs.has(t.slug)) throw validationError(`${field} has two tasks with slug '${t.slug}'`);
    slugs.add(t.slug);
    const type = typeof t.type === "string" ? t.type : null;
    const trigger = isPlainObject(t.trigger) ? t.trigger.fn : t.trigger;
    return {
      slug: t.slug,
      name: typeof t.name === "string" ? t.name : t.slug,
      kind: type === "prefect.core.parameter.Parameter" ? "parameter" : "task",
      mapped: t.mapped === true,
      tags: stringList(t.tags, `${where}.tags`),
      maxRetries: nonNegative(t.max_retries, `${where}.max_retries`),
      retryDelayMs: Math.round(nonNegative(t.retry_delay, `${where}.retry_delay`) * 1000),
      timeoutMs: t.timeout == null ? null : Math.round(nonNegative(t.timeout, `${where}.timeout`) * 1000),
      // Prefect names triggers by their function's path (`prefect.triggers.all_successful`).
      trigger: typeof trigger === "string" && trigger ? trigger.slice(trigger.lastIndexOf(".") + 1) : "all_successful",
      skipOnUpstreamSkip: t.skip_on_upstream_skip !== false,
      logStdout: t.log_stdout === true,
      result: null,
      constants: {},
      sourceDigest: null,
      prefectType: type,
      description: typeof t.description === "string" ? t.description : null,
      auto_generated: t.auto_generated === true,
      cache_key: typeof t.cache_key === "string" ? t.cache_key : null,
    };
  });
}

/**
 * Prefect's serialized edges (`{ upstream_task: { slug }, downstream_task: { slug }, key, mapped }`)
 * against the slugs of the flow's tasks; an edge naming a task the flow lacks is refused. The key
 * is the argument's name as Prefect sent it (Server stored it unchecked), or null.
 */
export function parsePrefectEdges(entries: unknown[], slugs: ReadonlySet<string>, field: string): SerializedEdge[] {
  return entries.map((e, i) => {
    const where = `${field}[${i}]`;
    if (!isPlainObject(e)) throw validationError(`${where} must be an edge object`);
    const upstream = slugOf(e.upstream_task);
    const downstream = slugOf(e.downstream_task);
    if (upstream === null || downstream === null) throw validationError(`${where} needs upstream_task and downstream_task (each { slug })`);
    if (!slugs.has(upstream) || !slugs.has(downstream)) {
      throw validationError("Edges could not be registered - some edges reference tasks that do not exist within this flow.");
    }
    if (e.key !== undefined && e.key !== null && typeof e.key !== "string") throw validationError(`${where}.key must be an argument name (a string) or null, got ${describe(e.key)}`);
    return { upstream, downstream, key: e.key ?? null, mapped: e.mapped === true };
  });
}

/** Server keeps one edge per (upstream, downstream) pair of a flow (its unique key): the first sent. */
export function firstEdgePerPair<E extends { upstream: string; downstream: string }>(edges: readonly E[]): E[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const pair = JSON.stringify([e.upstream, e.downstream]);
    if (seen.has(pair)) return false;
    seen.add(pair);
    return true;
  });
}

function slugOf(value: unknown): string | null {
  const slug = isPlainObject(value) ? value.slug : value;
  return typeof slug === "string" && slug ? slug : null;
}

/** Prefect's `Schedule` (Cron and Interval clocks) as prefectlite's; other clocks, filters and adjustments are refused. */
function prefectSchedule(value: unknown): SerializedSchedule {
  if (!isPlainObject(value)) throw validationError("serialized_flow.schedule must be a schedule object");
  for (const key of ["filters", "not_filters", "or_filters", "adjustments"]) {
    if (Array.isArray(value[key]) && value[key].length) throw validationError(`serialized_flow.schedule: schedule ${key} are not supported (use cron or interval clocks)`);
  }
  const clocks: Clock[] = listOrNone(value.clocks, "serialized_flow.schedule.clocks").map((c, i) => {
    const where = `serialized_flow.schedule.clocks[${i}]`;
    if (!isPlainObject(c)) throw validationError(`${where} must be a clock object`);
    const options = {
      parameterDefaults: isPlainObject(c.parameter_defaults) ? c.parameter_defaults : {},
      labels: c.labels == null ? [] : stringList(c.labels, `${where}.labels`),
    };
    const start = c.start_date == null ? null : dateTimeTZ(c.start_date, `${where}.start_date`);
    try {
      if (c.type === "CronClock" && typeof c.cron === "string") {
        return new CronClock(c.cron, { ...options, ...(start?.tz && start.tz !== "UTC" ? { timezone: start.tz } : {}) });
      }
      if (c.type === "IntervalClock" && typeof c.interval === "number") {
        // Prefect sends the interval in microseconds.
        return new IntervalClock(c.interval / 1000, { ...options, ...(start ? { startDate: start.instant } : {}) });
      }
    } catch (e) {
      throw validationError(`${where} is invalid: ${errorMessage(e)}`);
    }
    throw validationError(`${where}: only CronClock and IntervalClock are supported (got ${describe(c.type)})`);
  });
  return new Schedule({ clocks }).toJSON();
}

/** Prefect's `{ dt, tz }` (a naive wall time and an IANA zone) as an instant. */
function dateTimeTZ(value: unknown, field: string): { instant: Date; tz: string } {
  if (!isPlainObject(value) || typeof value.dt !== "string") throw validationError(`${field} must be { dt, tz }`);
  const tz = typeof value.tz === "string" && value.tz ? value.tz : "UTC";
  const asUtc = Date.parse(value.dt.replace(/([+-]\d\d:\d\d|Z)$/, "") + "Z");
  if (Number.isNaN(asUtc)) throw validationError(`${field}.dt is not a date-time`);
  let instant = asUtc;
  try {
    // The zone's offset at that wall time, found by formatting the guess in the zone (twice, across a DST change).
    for (let i = 0; i < 2; i++) instant = asUtc - (wallTimeIn(instant, tz) - instant);
  } catch {
    throw validationError(`${field}.tz: unknown time zone ${describe(tz)}`);
  }
  return { instant: new Date(instant), tz };
}

function wallTimeIn(instant: number, tz: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
}


function stringList(value: unknown, field: string): string[] {
  if (value == null) return [];
  if (!Array.isArray(value) || value.some((x) => typeof x !== "string")) throw validationError(`${field} must be a list of strings`);
  return value as string[];
}

function nonNegative(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw validationError(`${field} must be a non-negative number, got ${describe(value)}`);
  return value;
}
