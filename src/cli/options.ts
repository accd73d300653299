import { usageError } from "../core/errors.ts";
import { parseLogLevel, type LogLevel } from "../core/logging.ts";
import { isParameterType, parameterFromText } from "../core/parameter-types.ts";

/** cac gives one value for a flag used once and an array when repeated. */
export function many(value: unknown): string[] {
  if (value === undefined || value === null || value === false) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null || value === true || value === false ? undefined : String(value);
}

/**
 * `--params JSON` and `--param k=v` (repeatable). A `--param` value stays text until the flow's
 * parameter types are known (see {@link typedParameters}).
 */
export interface CliParameters {
  json: Record<string, unknown>;
  texts: Record<string, string>;
}

export function parseParameters(params: unknown, paramsJson: unknown): CliParameters {
  const json = optionalString(paramsJson);
  const texts: Record<string, string> = {};
  for (const pair of many(params)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usageError(`--param expects key=value, got '${pair}'`);
    texts[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { json: json === undefined ? {} : parseJsonObject(json, "--params"), texts };
}

/**
 * The parameter values to run with, `--param` over `--params`: a `--param` value is kept as text
 * for a string parameter and read as JSON (when it parses) for any other, so `n=abc` reaches a
 * number parameter as "abc" and is refused there.
 */
export function typedParameters(cli: CliParameters, declared: ReadonlyArray<{ name: string; type?: string }>): Record<string, unknown> {
  const types = new Map(declared.map((p) => [p.name, isParameterType(p.type) ? p.type : undefined]));
  const out: Record<string, unknown> = { ...cli.json };
  for (const [key, text] of Object.entries(cli.texts)) out[key] = parameterFromText(types.get(key), text);
  return out;
}

export function hasParameters(cli: CliParameters): boolean {
  return Object.keys(cli.json).length > 0 || Object.keys(cli.texts).length > 0;
}

export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw usageError(`${flag} is not valid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw usageError(`${flag} must be a JSON object`);
  return value as Record<string, unknown>;
}

export function parseLogLevelOption(value: unknown): LogLevel | undefined {
  const text = optionalString(value);
  if (text === undefined) return undefined;
  const level = parseLogLevel(text);
  if (!level) throw usageError(`--log-level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got '${text}')`);
  return level;
}

/** A whole-number flag (`--concurrency 4`), refused in the user's own words when it is not one. */
export function wholeNumberOption(value: unknown, flag: string, min: number, max?: number): number {
  const text = String(value).trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    throw usageError(`${flag} must be a whole number ${range} (got '${text}')`);
  }
  return n;
}

/** `--wait SECONDS`: a number of seconds, 0 or more. */
export function parseWaitSeconds(value: unknown): number {
  const seconds = Number(value);
  if (typeof value === "boolean" || !Number.isFinite(seconds) || seconds < 0) throw usageError(`--wait expects a number of seconds, 0 or more (got '${String(value)}')`);
  return seconds;
}
