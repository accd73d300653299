import { usageError } from "../core/errors.ts";
import { parseLogLevel, type LogLevel } from "../core/logging.ts";

/** cac gives one value for a flag used once and an array when repeated. */
export function many(value: unknown): string[] {
  if (value === undefined || value === null || value === false) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null || value === true || value === false ? undefined : String(value);
}

/** `--param k=v` (repeatable; v parsed as JSON when it parses, else kept as a string) over `--params JSON`. */
export function parseParameters(params: unknown, paramsJson: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const json = optionalString(paramsJson);
  if (json !== undefined) Object.assign(out, parseJsonObject(json, "--params"));
  for (const pair of many(params)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usageError(`--param expects key=value, got '${pair}'`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    out[key] = parseLooseJson(raw);
  }
  return out;
}

export function parseLooseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
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

/** `--wait SECONDS`: a number of seconds, 0 or more. */
export function parseWaitSeconds(value: unknown): number {
  const seconds = Number(value);
  if (typeof value === "boolean" || !Number.isFinite(seconds) || seconds < 0) throw usageError(`--wait expects a number of seconds, 0 or more (got '${String(value)}')`);
  return seconds;
}
