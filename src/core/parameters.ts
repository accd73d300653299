import { validationError } from "./errors.ts";
import { isParameterType, parameterTypeProblem } from "./parameter-types.ts";

export interface DeclaredParameter {
  name: string;
  default: unknown;
  required: boolean;
  /** Absent on flows registered before parameters had types: those accept any value. */
  type?: string;
}

/**
 * Merge parameter layers (later wins) over the declared defaults and check the result:
 * names the flow does not declare are refused (Prefect accepted typos silently), and so is a
 * required parameter left without a value, and a value of the wrong type. Falsy defaults
 * (0, "", false) count as values.
 */
export function resolveParameters(
  flowName: string,
  declared: readonly DeclaredParameter[],
  ...layers: Array<Record<string, unknown> | undefined | null>
): Record<string, unknown> {
  const known = new Set(declared.map((p) => p.name));
  const out: Record<string, unknown> = {};
  for (const p of declared) {
    if (p.default !== undefined && p.default !== null) out[p.name] = p.default;
  }
  for (const layer of layers) {
    if (!layer) continue;
    const unknown = Object.keys(layer).filter((k) => !known.has(k));
    if (unknown.length) {
      const names = unknown.map((k) => `'${k}'`).join(", ");
      const accepted = declared.length ? declared.map((p) => p.name).join(", ") : "none";
      throw validationError(`flow '${flowName}' has no parameter ${names} (its parameters: ${accepted})`);
    }
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  const missing = declared.filter((p) => p.required && !(p.name in out)).map((p) => `'${p.name}'`);
  if (missing.length) {
    throw validationError(`flow '${flowName}' is missing required parameter${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
  }
  checkParameterTypes(declared, out);
  return out;
}

/** Throw a Validation error naming the first value in `values` that does not fit its parameter's type. */
export function checkParameterTypes(declared: readonly DeclaredParameter[], values: Record<string, unknown>, where?: string): void {
  for (const p of declared) {
    if (!(p.name in values) || !isParameterType(p.type)) continue;
    const problem = parameterTypeProblem(p.name, p.type, values[p.name]);
    if (problem) throw validationError(where ? `${where}: ${problem}` : problem);
  }
}
