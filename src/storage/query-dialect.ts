import { isUuid } from "../core/uuid.ts";
import type { ColumnType, TableName } from "./tables.ts";

/**
 * What the query compiler writes differently for SQLite and for PostgreSQL. Everything else
 * (the where/order_by grammar, bounds, validation, identifiers) is shared.
 *
 * Where the two databases' semantics differ, PostgreSQL's is Hasura's (Prefect Server 1.x ran
 * on Hasura over PostgreSQL), so it is the reference:
 *   - json `_eq`: jsonb equality ignores object key order; SQLite compares json() text (key order counts);
 *   - json `_contains`: jsonb `@>` is recursive (`{a:{b:1,c:2}}` contains `{a:{b:1}}`) and an array
 *     contains a scalar; SQLite's compares top-level members only, with equal values;
 *   - `_ilike`: PostgreSQL folds case of any letter, SQLite's LIKE of ASCII letters only.
 */
export type SQLValue = string | number | boolean | null | readonly (string | number | boolean)[];

export interface Dialect {
  readonly name: "sqlite" | "postgres";
  /** The placeholder of the n-th (1-based) bound parameter. */
  placeholder(n: number): string;
  /** Conditions always true / false. */
  readonly trueCondition: string;
  readonly falseCondition: string;
  /** A boolean as bound. */
  bool(value: boolean): SQLValue;
  /** `column IN list` (or NOT IN): the list's one bound value, and the condition using its placeholder. */
  inList(type: ColumnType, values: readonly (string | number)[]): { value: SQLValue; condition: (column: string, placeholder: string, negate: boolean) => string };
  /** json `_eq` / `_neq` with the value bound as JSON text. */
  jsonCompare(column: string, placeholder: string, op: "=" | "<>"): string;
  /** json `_contains` with the value bound as JSON text. */
  jsonContains(column: string, placeholder: string, isArray: boolean): string;
  /** json `_has_key`/`_has_keys_any` ("any") and `_has_keys_all` ("all"): the keys bound as one list value. */
  jsonHasKeys(column: string, placeholder: string, mode: "any" | "all"): string;
  /** `_like` (case-sensitive, `%` `_` and backslash escapes): the bound value and the condition. */
  like(pattern: string, negate: boolean): { value: string; condition: (column: string, placeholder: string) => string };
  /** `_ilike` (case-insensitive). */
  ilike(pattern: string, negate: boolean): { value: string; condition: (column: string, placeholder: string) => string };
  /** Where the database puts NULLs without a NULLS clause. */
  readonly nullsByDefault: { ASC: "FIRST" | "LAST"; DESC: "FIRST" | "LAST" };
  /** OFFSET without a LIMIT. */
  offsetOnly(placeholder: string): string;
  /** The order rows have without an ORDER BY today (insertion order), as ORDER BY terms on `alias`. */
  insertionOrder(table: TableName, alias: string): string[];
  /** Whether a select without order_by gets `insertionOrder` written out (PostgreSQL has no rowid order to fall back on). */
  readonly orderUnorderedSelects: boolean;
  /** The column types whose values `decode` changes. */
  readonly decodedTypes: readonly ColumnType[];
  /** A column's value as read, turned into what the API sees (ISO text times, parsed JSON, booleans). */
  decode(type: ColumnType, value: unknown): unknown;
}

/** Whether a value can name a row of a uuid column (a malformed id matches nothing). */
export { isUuid };

/** A LIKE pattern (`%`, `_`, backslash escapes) as a case-sensitive GLOB pattern. */
export function likeToGlob(pattern: string): string {
  const literal = (ch: string) => (ch === "*" || ch === "?" || ch === "[" ? `[${ch}]` : ch);
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "\\" && i + 1 < pattern.length) out += literal(pattern[++i]!);
    else if (ch === "%") out += "*";
    else if (ch === "_") out += "?";
    else out += literal(ch);
  }
  return out;
}

export const SQLITE: Dialect = {
  name: "sqlite",
  placeholder: () => "?",
  trueCondition: "1",
  falseCondition: "0",
  bool: (value) => (value ? 1 : 0),
  inList: (_type, values) => ({
    value: JSON.stringify(values),
    condition: (column, p, negate) => `${column} ${negate ? "NOT IN" : "IN"} (SELECT value FROM json_each(${p}))`,
  }),
  jsonCompare: (column, p, op) => `json(${column}) ${op} json(${p})`,
  jsonContains(column, p, isArray) {
    // Every element of a given array is an element of the column's array; every key of a given
    // object has an equal value in the column's object.
    const match = isArray ? "" : "c.key = v.key AND ";
    return (
      `(json_type(${column}) = '${isArray ? "array" : "object"}' AND NOT EXISTS (SELECT 1 FROM json_each(${p}) v ` +
      `WHERE NOT EXISTS (SELECT 1 FROM json_each(${column}) c WHERE ${match}c.type = v.type AND c.value IS v.value)))`
    );
  },
  jsonHasKeys(column, p, mode) {
    const has = (key: string) => `EXISTS (SELECT 1 FROM json_each(${column}) c WHERE c.key = ${key})`;
    const keys =
      mode === "any"
        ? `EXISTS (SELECT 1 FROM json_each(${p}) v WHERE ${has("v.value")})`
        : `NOT EXISTS (SELECT 1 FROM json_each(${p}) v WHERE NOT ${has("v.value")})`;
    return `(json_type(${column}) = 'object' AND ${keys})`;
  },
  // SQLite's LIKE ignores case: GLOB is its case-sensitive match.
  like: (pattern, negate) => ({ value: likeToGlob(pattern), condition: (column, p) => `${column} ${negate ? "NOT " : ""}GLOB ${p}` }),
  ilike: (pattern, negate) => ({ value: pattern, condition: (column, p) => `${column} ${negate ? "NOT " : ""}LIKE ${p} ESCAPE '\\'` }),
  nullsByDefault: { ASC: "FIRST", DESC: "LAST" },
  offsetOnly: (p) => ` LIMIT -1 OFFSET ${p}`,
  insertionOrder: (_table, alias) => [`${alias}.rowid`],
  orderUnorderedSelects: false,
  decodedTypes: ["json", "boolean"],
  decode(type, value) {
    if (value === null || value === undefined) return value;
    if (type === "json") return typeof value === "string" ? JSON.parse(value) : value;
    if (type === "boolean") return value === 1 || value === true;
    return value;
  },
};

const POSTGRES_ARRAY_TYPES: Record<ColumnType, string> = {
  uuid: "uuid[]",
  string: "text[]",
  int: "bigint[]",
  timestamp: "timestamptz[]",
  boolean: "boolean[]",
  json: "jsonb[]",
  interval: "bigint[]",
};

/** A trailing lone backslash made literal, as likeToGlob reads it (PostgreSQL refuses a pattern ending in its escape). */
function closeTrailingEscape(pattern: string): string {
  const trailing = pattern.length - pattern.replace(/\\+$/, "").length;
  return trailing % 2 === 1 ? `${pattern}\\` : pattern;
}

export const POSTGRES: Dialect = {
  name: "postgres",
  placeholder: (n) => `$${n}`,
  trueCondition: "TRUE",
  falseCondition: "FALSE",
  bool: (value) => value,
  inList: (type, values) => ({
    value: values,
    condition: (column, p, negate) => `${column} ${negate ? "<> ALL" : "= ANY"}(${p}::${POSTGRES_ARRAY_TYPES[type]})`,
  }),
  // Bound as text and cast: a JS string bound straight to jsonb would become a JSON string.
  jsonCompare: (column, p, op) => `${column} ${op} (${p}::text)::jsonb`,
  jsonContains: (column, p) => `${column} @> (${p}::text)::jsonb`,
  jsonHasKeys: (column, p, mode) => `${mode === "any" ? "jsonb_exists_any" : "jsonb_exists_all"}(${column}, ${p}::text[])`,
  // PostgreSQL's LIKE escapes with a backslash by default, as the API's patterns do.
  like: (pattern, negate) => ({ value: closeTrailingEscape(pattern), condition: (column, p) => `${column} ${negate ? "NOT " : ""}LIKE ${p}` }),
  ilike: (pattern, negate) => ({ value: closeTrailingEscape(pattern), condition: (column, p) => `${column} ${negate ? "NOT " : ""}ILIKE ${p}` }),
  nullsByDefault: { ASC: "LAST", DESC: "FIRST" },
  offsetOnly: (p) => ` OFFSET ${p}`,
  // Ids are UUIDv7 (time ordered); tasks keep the order they were declared in.
  insertionOrder: (table, alias) => (table === "task" ? [`${alias}."position"`, `${alias}."id"`] : [`${alias}."id"`]),
  orderUnorderedSelects: true,
  // jsonb and boolean come back parsed; timestamptz as a Date.
  decodedTypes: ["timestamp"],
  decode(type, value) {
    if (value === null || value === undefined) return value;
    if (type === "timestamp") return value instanceof Date ? value.toISOString() : new Date(value as string).toISOString();
    return value;
  },
};
