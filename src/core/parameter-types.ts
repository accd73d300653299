/**
 * The JSON types a flow parameter may declare, and the check of a value against one. A
 * parameter's type comes from its declaration (`type: "integer"`) or else from its default
 * (`default: 5` is a number); "any" accepts every JSON value. Flows registered before types
 * existed carry none: their parameters are "any".
 */
export const PARAMETER_TYPES = ["string", "number", "integer", "boolean", "object", "array", "any"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** The TypeScript type of a parameter declared with `type: K`. */
export type ParameterValue<K extends ParameterType> = K extends "string"
  ? string
  : K extends "number" | "integer"
    ? number
    : K extends "boolean"
      ? boolean
      : K extends "object"
        ? Record<string, unknown>
        : K extends "array"
          ? unknown[]
          : unknown;

export function isParameterType(value: unknown): value is ParameterType {
  return typeof value === "string" && (PARAMETER_TYPES as readonly string[]).includes(value);
}

/** The type a default implies: null (or no default) implies nothing. */
export function parameterTypeOf(value: unknown): ParameterType {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  if (Array.isArray(value)) return "array";
  if (value !== null && typeof value === "object") return "object";
  return "any";
}

export function matchesParameterType(type: ParameterType | undefined, value: unknown): boolean {
  switch (type ?? "any") {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return true;
  }
}

const ARTICLE: Record<ParameterType, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "a boolean (true or false)",
  object: "a JSON object",
  array: "a list",
  any: "any JSON value",
};

/** `parameter 'n' must be a number (got "abc")`, or null when the value fits. */
export function parameterTypeProblem(name: string, type: ParameterType | undefined, value: unknown): string | null {
  if (matchesParameterType(type, value)) return null;
  return `parameter '${name}' must be ${ARTICLE[type!]} (got ${shortJSON(value)})`;
}

/**
 * A parameter value typed on a command line (`--param n=5`): kept as text for a string
 * parameter, otherwise read as JSON when it parses (so `n=abc` stays "abc" and is then refused
 * by a number parameter's check).
 */
export function parameterFromText(type: ParameterType | undefined, text: string): unknown {
  if (type === "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function shortJSON(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
