import { PrefectliteError } from "../core/errors.ts";

/**
 * Prefect's Python API names its arguments in snake_case (`flow_run_id`); the TypeScript SDK
 * names them in camelCase. A snake_case key is refused with the name to use instead, rather
 * than ignored (which would end in "missing" or "undefined not found" far from the mistake).
 */
export function refuseSnakeCase(options: unknown, caller: string): void {
  if (!options || typeof options !== "object") return;
  const wrong = Object.keys(options).filter((k) => k.includes("_"));
  if (!wrong.length) return;
  const hints = wrong.map((k) => `${camelCase(k)} instead of ${k}`).join(", ");
  throw new PrefectliteError("Validation", `${caller}: options are camelCase in TypeScript: use ${hints}`);
}

function camelCase(name: string): string {
  return name.replace(/_+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}
