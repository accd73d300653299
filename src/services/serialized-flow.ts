import { validationError, errorMessage } from "../core/errors.ts";
import { checkParameterTypes, type DeclaredParameter } from "../core/parameters.ts";
import { isParameterType, parameterTypeProblem, PARAMETER_TYPES, type ParameterType } from "../core/parameter-types.ts";
import { Schedule } from "../core/schedule/schedule.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import { checkRunConfig, checkRunConfigType } from "./run-config.ts";
import { describe, isPlainObject, listOrNone, requireJsonDepth } from "./validate.ts";

/** A serialized flow as sent: its JSON value, or the value of JSON text. */
export function serializedFlowValue(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw validationError("serialized_flow is not valid JSON");
  }
}

/**
 * Check a serialized flow sent for registration (the JSON of `Flow.serialize()`): enough
 * structure for the rows built from it to be sound. Unknown extra fields are kept.
 */
export function parseSerializedFlow(value: unknown): SerializedFlow {
  const raw = serializedFlowValue(value);
  if (!isPlainObject(raw)) throw validationError(`serialized_flow must be a JSON object, got ${describe(raw)}`);
  requireJsonDepth(raw, "serialized_flow");
  const f = raw as Record<string, unknown>;
  if (typeof f.name !== "string" || !f.name.trim()) throw validationError("serialized_flow.name must be a non-empty string");
  if (f.tasks === undefined || f.tasks === null) {
    throw validationError("serialized_flow.tasks is missing: a serialized flow lists its tasks and parameters (Flow.serialize() gives one)");
  }
  const tasks = listOrNone(f.tasks, "serialized_flow.tasks");
  const slugs = new Set<string>();
  tasks.forEach((t, i) => {
    if (!isPlainObject(t) || typeof t.slug !== "string" || !t.slug || typeof t.name !== "string") {
      throw validationError(`serialized_flow.tasks[${i}] needs a slug and a name`);
    }
    if (t.kind !== "task" && t.kind !== "parameter") throw validationError(`serialized_flow.tasks[${i}].kind must be "task" or "parameter"`);
    if (slugs.has(t.slug)) throw validationError(`serialized_flow has two tasks with slug '${t.slug}'`);
    slugs.add(t.slug);
  });
  listOrNone(f.edges, "serialized_flow.edges").forEach((e, i) => {
    if (!isPlainObject(e) || !slugs.has(e.upstream as string) || !slugs.has(e.downstream as string)) {
      throw validationError(`serialized_flow.edges[${i}] must join two tasks of the flow (upstream, downstream slugs)`);
    }
  });
  const parameters = listOrNone(f.parameters, "serialized_flow.parameters").map((p, i) => {
    if (!isPlainObject(p) || typeof p.name !== "string" || !p.name || typeof p.required !== "boolean") {
      throw validationError(`serialized_flow.parameters[${i}] needs a name and required: true|false`);
    }
    if (p.type !== undefined && !isParameterType(p.type)) {
      throw validationError(`serialized_flow.parameters[${i}].type must be one of ${PARAMETER_TYPES.join(", ")} (got ${describe(p.type)})`);
    }
    const problem = p.default === null || p.default === undefined ? null : parameterTypeProblem(p.name, p.type as ParameterType | undefined, p.default);
    if (problem) throw validationError(`serialized_flow: the default of ${problem}`);
    return p as unknown as DeclaredParameter;
  });
  if (f.referenceTasks !== undefined && f.referenceTasks !== null) {
    if (!Array.isArray(f.referenceTasks) || f.referenceTasks.some((s) => !slugs.has(s as string))) {
      throw validationError("serialized_flow.referenceTasks must list slugs of the flow's tasks");
    }
  }
  if (f.runConfig !== undefined && f.runConfig !== null) {
    const rc = f.runConfig;
    if (!isPlainObject(rc) || (rc.labels !== undefined && !Array.isArray(rc.labels))) {
      throw validationError("serialized_flow.runConfig must be { type?, env?, labels? }");
    }
    checkRunConfigType(rc, "serialized_flow.runConfig");
    checkRunConfig(rc, "serialized_flow.runConfig");
  }
  if (f.schedule !== undefined && f.schedule !== null) {
    let schedule: Schedule;
    try {
      schedule = Schedule.fromJSON(f.schedule as never);
    } catch (e) {
      throw validationError(`serialized_flow.schedule is invalid: ${errorMessage(e)}`);
    }
    schedule.clocks.forEach((clock, i) => checkParameterTypes(parameters, clock.parameterDefaults, `serialized_flow.schedule clock ${i + 1}`));
  }
  if (f.storage !== undefined && f.storage !== null) {
    const s = f.storage;
    const ok = isPlainObject(s) && ((s.type === "Local" && typeof s.path === "string") || (s.type === "Module" && typeof s.module === "string"));
    if (!ok) throw validationError('serialized_flow.storage must be { type: "Local", path } or { type: "Module", module }');
  }
  const defaults = { edges: [], parameters: [], referenceTasks: [], schedule: null, runConfig: { env: {}, labels: [] }, result: null, storage: null };
  return { ...defaults, ...f } as unknown as SerializedFlow;
}

