import { validationError } from "../core/errors.ts";
import { settings } from "../settings.ts";
import { jsonNestsDeeperThan } from "../storage/query-where.ts";
import { isUuid } from "../core/uuid.ts";

export { jsonNestsDeeperThan };

/** Input checks shared by the services: each throws a Validation error naming the field. */


export function requireUuid(value: unknown, field: string): string {
  if (!isUuid(value)) {
    throw validationError(`${field} must be a UUID, got ${describe(value)}`);
  }
  return value.toLowerCase();
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw validationError(`${field} must be a non-empty string`);
  return value;
}

export function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw validationError(`${field} must be a string, got ${describe(value)}`);
  return value;
}

/**
 * A JSON value to be stored, refused when it nests deeper than PREFECTLITE_MAX_JSON_DEPTH:
 * SQLite's JSON functions stop at 1000 levels, and one such value in a column would break
 * every `where` on that column for everyone. Returns the value.
 */
export function requireJsonDepth<T>(value: T, field: string): T {
  const max = settings.maxJsonDepth();
  if (jsonNestsDeeperThan(value, max)) {
    throw validationError(`${field} nests deeper than ${max} levels (PREFECTLITE_MAX_JSON_DEPTH): store flatter values`);
  }
  return value;
}

/** A list field that may be absent (null or missing: none); anything but a list is refused. */
export function listOrNone(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError(`${field} must be a list`);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function optionalObject(value: unknown, field: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw validationError(`${field} must be a JSON object, got ${describe(value)}`);
  return requireJsonDepth(value, field);
}

/** A list of labels: strings, deduplicated and sorted (the stored form). */
export function normalizeLabels(value: unknown, field = "labels"): string[] {
  if (!Array.isArray(value) || value.some((l) => typeof l !== "string" || l === "")) {
    throw validationError(`${field} must be a list of non-empty strings`);
  }
  return [...new Set(value as string[])].sort();
}

/** An ISO-8601 time (or a Date) as the stored UTC text with milliseconds. */
export function requireTime(value: unknown, field: string): string {
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()) || (typeof value === "string" && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw validationError(`${field} must be an ISO-8601 time, got ${describe(value)}`);
  }
  return date.toISOString();
}

export function requireVersion(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw validationError(`${field} must be a non-negative integer (the version you read), got ${describe(value)}`);
  }
  return value;
}

/** A write's version, or undefined when it carries none (Prefect's engine sends none for most of its states). */
export function optionalVersion(value: unknown, field: string): number | undefined {
  return value === undefined || value === null ? undefined : requireVersion(value, field);
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}
