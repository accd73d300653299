import { isUuid } from "../../core/uuid.ts";

/**
 * The record boundary on PostgreSQL: what goes into a statement and what comes out of a row, so
 * the repositories hand services exactly what the SQLite ones do (times as ISO-8601 UTC text
 * with milliseconds, JSON parsed, booleans).
 */

/** JSON bound as text and cast in SQL (`$n::text::jsonb`): a JS string bound to a jsonb parameter
 *  would be stored as a JSON string, and null must stay SQL NULL. */
export function jsonText(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** A timestamptz column (Bun returns Date) as the ISO text SQLite stores. */
export function isoTime(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** A jsonb column: parsed by Bun; NULL becomes `fallback`. */
export function jsonValue<T>(value: unknown, fallback: T): T {
  return value === null || value === undefined ? fallback : (value as T);
}

/**
 * Whether an id can name a row: ids are uuid columns here, and a malformed one would fail the
 * statement (22P02) where SQLite simply finds nothing. Reads of such an id find nothing.
 */
export { isUuid };

/** The ids that can name a row (see isUuid). */
export function uuids(ids: readonly string[]): string[] {
  return ids.filter(isUuid);
}
