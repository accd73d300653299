import { validationError } from "../core/errors.ts";
import { settings } from "../settings.ts";
import { isUuid, SQLITE, type Dialect, type SQLValue } from "./query-dialect.ts";
import { TABLES, type ColumnType, type Relation, type TableDeclaration, type TableName } from "./tables.ts";

/**
 * Hasura-style `where` and `order_by` arguments compiled to SQL over the declared tables, in
 * the builder's dialect (SQLite or PostgreSQL: query-dialect.ts). Identifiers come only from
 * TABLES (and are quoted); every value is a bound parameter.
 */

export type { SQLValue };
export { likeToGlob } from "./query-dialect.ts";

/** Facts about the live schema the compiler needs beyond the declaration. */
export interface SchemaFacts {
  /** True when the column is declared NOT NULL in the database (lets ORDER BY use an index). */
  notNull(table: TableName, column: string): boolean;
}

/**
 * Where compiled SQL goes. Parameters are bound through `param`, which returns the placeholder
 * to write; SQL text must be assembled in the order its parameters were bound (SQLite's `?`).
 */
export interface SQLBuilder {
  readonly dialect: Dialect;
  readonly params: SQLValue[];
  /** Bind a value; returns its placeholder (`?` or `$n`). */
  param(value: SQLValue): string;
  /** A fresh table alias (t1, t2, …) for a subquery. */
  alias(): string;
}

export function newBuilder(dialect: Dialect = SQLITE): SQLBuilder {
  let n = 0;
  const params: SQLValue[] = [];
  return {
    dialect,
    params,
    param(value) {
      params.push(value);
      return dialect.placeholder(params.length);
    },
    alias: () => `t${++n}`,
  };
}

export const quote = (identifier: string): string => `"${identifier}"`;

export function declaration(table: TableName): TableDeclaration {
  return TABLES[table] as TableDeclaration;
}

/** The column's type when it exists and is exposed; undefined otherwise. */
export function columnType(table: TableName, column: string): ColumnType | undefined {
  const decl = declaration(table);
  if (!Object.hasOwn(decl.columns, column) || decl.hidden?.includes(column)) return undefined;
  return decl.columns[column];
}

/**
 * The SQL of a column of `table` on `alias`: the stored column, or a virtual one's expression
 * (a typed constant, or the stored column it shows in another unit).
 */
export function columnSQL(dialect: Dialect, table: TableName, alias: string, column: string): string {
  const virtual = declaration(table).virtual?.[column];
  if (!virtual) return `${alias}.${quote(column)}`;
  if ("millisecondsOf" in virtual) return `${alias}.${quote(virtual.millisecondsOf)}`;
  return constantSQL(dialect, declaration(table).columns[column]!, virtual.constant);
}

/** A constant from the declaration (never from a request) as an SQL literal of the column's type. */
function constantSQL(dialect: Dialect, type: ColumnType, value: string | boolean | null): string {
  if (typeof value === "boolean") return dialect.name === "postgres" ? (value ? "TRUE" : "FALSE") : value ? "1" : "0";
  const literal = value === null ? "NULL" : `'${value.replaceAll("'", "''")}'`;
  if (dialect.name === "sqlite") return literal;
  const cast: Record<ColumnType, string> = { uuid: "uuid", timestamp: "timestamptz", json: "jsonb", string: "text", boolean: "boolean", int: "bigint", interval: "bigint" };
  return `${literal}::${cast[type]}`;
}

/** What a select reads `table` from: the table, or for a table of constant rows, their subquery. */
export function tableSource(dialect: Dialect, table: TableName): string {
  const decl = declaration(table);
  if (!decl.constantRows) return quote(table);
  const stored = Object.entries(decl.columns).filter(([name]) => !decl.virtual?.[name]);
  const select = (row: Record<string, string | boolean | null>) =>
    `SELECT ${stored.map(([name, type]) => `${constantSQL(dialect, type, row[name] ?? null)} AS ${quote(name)}`).join(", ")}`;
  // No rows: one row of typed nulls, filtered out (the subquery still has the columns).
  if (decl.constantRows.length === 0) return `(${select({})} WHERE ${dialect.falseCondition})`;
  return `(${decl.constantRows.map(select).join(" UNION ALL ")})`;
}

export function relationOf(table: TableName, name: string): (Relation & { table: TableName }) | undefined {
  const decl = declaration(table);
  return Object.hasOwn(decl.relations, name) ? (decl.relations[name] as Relation & { table: TableName }) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Values

/** A timestamp as stored (ISO-8601 UTC with milliseconds, so text order is time order). */
export function normalizeTimestamp(value: unknown, where: string): string {
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw validationError(`${where}: expected an ISO-8601 timestamp, got ${JSON.stringify(value)}`);
  return date.toISOString();
}

/** A value of the column's type as bound in the dialect (a boolean: 0/1 on SQLite). */
export function encodeValue(dialect: Dialect, type: ColumnType, value: unknown, where: string): string | number | boolean {
  switch (type) {
    case "uuid":
      if (!isUuid(value)) throw validationError(`${where}: expected a UUID, got ${JSON.stringify(value)}`);
      return value.toLowerCase();
    case "string":
      if (typeof value !== "string") throw validationError(`${where}: expected a string, got ${JSON.stringify(value)}`);
      return value;
    case "int":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) throw validationError(`${where}: expected an integer, got ${JSON.stringify(value)}`);
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw validationError(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
      return dialect.bool(value) as number | boolean;
    case "timestamp":
      return normalizeTimestamp(value, where);
    case "json":
      return JSON.stringify(value);
    case "interval":
      return intervalMilliseconds(value, where);
  }
}

/**
 * An interval as milliseconds: PostgreSQL's text ("1 day 02:00:00", "00:00:10.5", "90 seconds"),
 * ISO-8601 ("PT1M30S"), or a number of seconds.
 */
export function intervalMilliseconds(value: unknown, where: string): number {
  const fail = () => validationError(`${where}: expected an interval such as "00:01:30" or "1 day", got ${JSON.stringify(value)}`);
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value !== "string" || value.length > 100) throw fail();
  const text = value.trim().toLowerCase();
  const iso = /^p(?:(\d+(?:\.\d+)?)d)?(?:t(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?)?$/.exec(text);
  if (iso && text !== "p" && text !== "pt") {
    const [, d, h, m, sec] = iso.map((x) => Number(x ?? 0));
    return Math.round((((d! * 24 + h!) * 60 + m!) * 60 + sec!) * 1000);
  }
  const UNITS: Record<string, number> = { day: 86400, hour: 3600, minute: 60, min: 60, second: 1, sec: 1, week: 604800 };
  let seconds = 0;
  let rest = text;
  const clock = /(-?)(\d+):(\d{2})(?::(\d{2}(?:\.\d+)?))?$/.exec(rest);
  if (clock) {
    const sign = clock[1] ? -1 : 1;
    seconds += sign * (Number(clock[2]) * 3600 + Number(clock[3]) * 60 + Number(clock[4] ?? 0));
    rest = rest.slice(0, clock.index).trim();
  }
  for (const part of rest.matchAll(/(-?\d+(?:\.\d+)?)\s*([a-z]+?)s?(?=\s|$)/g)) {
    const unit = UNITS[part[2]!];
    if (unit === undefined) throw fail();
    seconds += Number(part[1]) * unit;
  }
  const leftover = rest.replace(/(-?\d+(?:\.\d+)?)\s*([a-z]+?)s?(?=\s|$)/g, "").trim();
  if (leftover || (!clock && rest === "")) throw fail();
  return Math.round(seconds * 1000);
}

/** Milliseconds as PostgreSQL shows an interval: "00:00:10", "00:01:30.5", "2 days 03:00:00". */
export function intervalText(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const s = (rest % 60_000) / 1000;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, "0");
  const fraction = s % 1 ? String(Number((s % 1).toFixed(6))).slice(1) : "";
  const clock = `${sign}${pad(h)}:${pad(m)}:${pad(s)}${fraction}`;
  return days ? `${sign}${days} day${days === 1 ? "" : "s"} ${clock}` : clock;
}

/**
 * True when objects and arrays in `value` nest deeper than `max` levels (a scalar is 0 deep,
 * `{a: 1}` 1). Iterative, so any depth (or a cycle) is measured without exhausting the stack.
 */
export function jsonNestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// where

const COMPARISONS: Record<string, string> = { _eq: "=", _neq: "<>", _gt: ">", _gte: ">=", _lt: "<", _lte: "<=" };
const TEXT_OPERATORS = ["_like", "_nlike", "_ilike", "_nilike"];

/** Which operators each column type accepts. */
export const OPERATORS: Record<ColumnType, readonly string[]> = {
  uuid: ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
  string: ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null", ...TEXT_OPERATORS],
  int: ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
  timestamp: ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
  boolean: ["_eq", "_neq", "_in", "_nin", "_is_null"],
  json: ["_eq", "_neq", "_is_null", "_contains", "_has_key", "_has_keys_any", "_has_keys_all"],
  interval: ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
};

const KEY_OPERATORS = ["_has_key", "_has_keys_any", "_has_keys_all"];

function compileComparison(b: SQLBuilder, type: ColumnType, column: string, comparison: unknown, path: string, maxJsonDepth: number): string {
  if (!isObject(comparison)) throw validationError(`${path}: expected an object of operators such as { _eq: … }`);
  const parts: string[] = [];
  for (const [op, value] of Object.entries(comparison)) {
    if (value === undefined) continue;
    const at = `${path}.${op}`;
    if (!OPERATORS[type].includes(op)) {
      throw validationError(`${at}: unknown operator for a ${type} column (use one of ${OPERATORS[type].join(", ")})`);
    }
    // A null operand is no condition, as Hasura's V1 boolean null collapse (Prefect Server ran with it on) made it.
    if (value === null) continue;
    if (op === "_is_null") {
      if (typeof value !== "boolean") throw validationError(`${at}: expected true or false`);
      parts.push(`${column} IS ${value ? "" : "NOT "}NULL`);
      continue;
    }
    if (jsonNestsDeeperThan(value, maxJsonDepth)) {
      throw validationError(`${at}: the value nests deeper than ${maxJsonDepth} levels (PREFECTLITE_MAX_JSON_DEPTH)`);
    }
    const dialect = b.dialect;
    if (op === "_in" || op === "_nin") {
      if (!Array.isArray(value)) throw validationError(`${at}: expected a list`);
      const encoded = value.map((v, i) => encodeValue(dialect, type, v, `${at}[${i}]`)) as (string | number)[];
      const list = dialect.inList(type, encoded);
      parts.push(list.condition(column, b.param(list.value), op === "_nin"));
    } else if (KEY_OPERATORS.includes(op)) {
      const keys = op === "_has_key" ? [value] : value;
      if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
        throw validationError(`${at}: expected ${op === "_has_key" ? "a key (a string)" : "a list of keys (strings)"}`);
      }
      parts.push(dialect.jsonHasKeys(column, b.param(dialect.name === "postgres" ? keys : JSON.stringify(keys)), op === "_has_keys_all" ? "all" : "any"));
    } else if (op === "_contains") {
      parts.push(dialect.jsonContains(column, b.param(JSON.stringify(value)), Array.isArray(value)));
    } else if (TEXT_OPERATORS.includes(op)) {
      if (typeof value !== "string") throw validationError(`${at}: expected a string pattern`);
      const negate = op === "_nlike" || op === "_nilike";
      const match = op === "_like" || op === "_nlike" ? dialect.like(value, negate) : dialect.ilike(value, negate);
      parts.push(match.condition(column, b.param(match.value)));
    } else if (type === "json") {
      parts.push(dialect.jsonCompare(column, b.param(encodeValue(dialect, type, value, at)), COMPARISONS[op] as "=" | "<>"));
    } else {
      parts.push(`${column} ${COMPARISONS[op]} ${b.param(encodeValue(dialect, type, value, at))}`);
    }
  }
  return joinAnd(b.dialect, parts);
}

function joinAnd(dialect: Dialect, parts: string[]): string {
  if (parts.length === 0) return dialect.trueCondition;
  return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(" AND ");
}

/** How much of its bounds one `where` has used while it compiles. */
interface WhereBudget {
  conditions: number;
  readonly maxConditions: number;
  readonly maxRelations: number;
  readonly maxDepth: number;
}

/**
 * A `<table>_bool_exp` as a SQL condition on rows of `table` known as `alias`. A null or
 * empty expression is true; `_and: []` is true and `_or: []` false. Expressions past the
 * bounds (settings: conditions, relation depth, nesting) are refused with a Validation error
 * before any SQL is built, so SQLite's own limits (expression depth, recursion) are never met.
 */
export function compileWhere(b: SQLBuilder, table: TableName, alias: string, exp: unknown, path = "where"): string {
  const budget: WhereBudget = {
    conditions: 0,
    maxConditions: settings.maxWhereConditions(),
    maxRelations: settings.maxWhereRelationDepth(),
    maxDepth: settings.maxJsonDepth(),
  };
  return compileExp(b, budget, { table, alias, relations: 0, upFrom: undefined, depth: 1 }, exp, path);
}

/** Where a (sub)expression stands: its table, how it got there, how deep it is. */
interface WhereScope {
  table: TableName;
  alias: string;
  /** Relations followed from the root to here. */
  relations: number;
  /** The object relation followed on the way here, if any (a list relation after one is refused). */
  upFrom: string | undefined;
  /** Nesting of expression objects. */
  depth: number;
}

function countCondition(budget: WhereBudget, path: string): void {
  if (++budget.conditions > budget.maxConditions) {
    throw validationError(
      `${path}: the where has more than ${budget.maxConditions} conditions (PREFECTLITE_MAX_WHERE_CONDITIONS): ` +
        "use _in for lists of values, or split the query",
    );
  }
}

function compileExp(b: SQLBuilder, budget: WhereBudget, scope: WhereScope, exp: unknown, path: string): string {
  const { trueCondition, falseCondition } = b.dialect;
  if (exp === null || exp === undefined) return trueCondition;
  if (!isObject(exp)) throw validationError(`${path}: expected an object`);
  if (scope.depth > budget.maxDepth) {
    throw validationError(`${path}: the where nests deeper than ${budget.maxDepth} levels (PREFECTLITE_MAX_JSON_DEPTH): flatten the _and/_or/_not`);
  }
  const { table, alias } = scope;
  const nested = (s: Partial<WhereScope>): WhereScope => ({ ...scope, depth: scope.depth + 1, ...s });
  const parts: string[] = [];
  for (const [key, value] of Object.entries(exp)) {
    if (value === undefined || value === null) continue;
    const at = `${path}.${key}`;
    if (key === "_and" || key === "_or") {
      const list = Array.isArray(value) ? value : [value];
      const items = list.map((item, i) => compileExp(b, budget, nested({}), item, `${at}[${i}]`));
      if (items.length === 0) parts.push(key === "_and" ? trueCondition : falseCondition);
      else parts.push(joinBalanced(items, key === "_and" ? "AND" : "OR"));
      continue;
    }
    if (key === "_not") {
      parts.push(`NOT (${compileExp(b, budget, nested({}), value, at)})`);
      continue;
    }
    const type = columnType(table, key);
    if (type) {
      if (isObject(value)) for (const op of Object.keys(value)) if (value[op] !== undefined) countCondition(budget, `${at}.${op}`);
      parts.push(compileComparison(b, type, columnSQL(b.dialect, table, alias, key), value, at, budget.maxDepth));
      continue;
    }
    const relation = relationOf(table, key);
    if (!relation) throw validationError(`${at}: '${key}' is not a column or relation of ${table}`);
    countCondition(budget, at);
    if (scope.relations + 1 > budget.maxRelations) {
      throw validationError(
        `${at}: the where follows more than ${budget.maxRelations} relations in a row (PREFECTLITE_MAX_WHERE_RELATION_DEPTH): ` +
          "filter on the related table's id columns instead",
      );
    }
    if (relation.kind === "array" && scope.upFrom !== undefined) {
      throw validationError(
        `${at}: the where goes up through '${scope.upFrom}' and back down through the list '${key}', which compares every row with all its ` +
          `siblings: filter ${relation.table} on its ${relation.to} column instead (e.g. ${relation.to}: { _eq: … })`,
      );
    }
    const inner = b.alias();
    const upFrom = relation.kind === "object" ? (scope.upFrom ?? key) : scope.upFrom;
    const condition = compileExp(b, budget, nested({ table: relation.table, alias: inner, relations: scope.relations + 1, upFrom }), value, at);
    parts.push(
      `EXISTS (SELECT 1 FROM ${tableSource(b.dialect, relation.table)} AS ${inner} WHERE ${columnSQL(b.dialect, relation.table, inner, relation.to)} = ${columnSQL(b.dialect, table, alias, relation.from)}` +
        (condition === trueCondition ? ")" : ` AND (${condition}))`),
    );
  }
  return joinAnd(b.dialect, parts);
}

/** Whether a compiled where is the dialect's "no condition". */
export function isTrue(b: SQLBuilder, condition: string): boolean {
  return condition === b.dialect.trueCondition;
}

/**
 * Conditions joined by AND or OR as a balanced tree: `a OR b OR c …` is a chain as deep as the
 * list in SQLite's parser (which stops at 1000 levels); halves keep the depth logarithmic.
 */
function joinBalanced(items: string[], op: "AND" | "OR"): string {
  if (items.length === 1) return `(${items[0]})`;
  if (items.length <= 8) return items.map((p) => `(${p})`).join(` ${op} `);
  const half = Math.ceil(items.length / 2);
  return `(${joinBalanced(items.slice(0, half), op)} ${op} ${joinBalanced(items.slice(half), op)})`;
}

// ---------------------------------------------------------------------------------------------
// order_by

const DIRECTIONS: Record<string, { dir: "ASC" | "DESC"; nulls: "FIRST" | "LAST" }> = {
  asc: { dir: "ASC", nulls: "LAST" },
  asc_nulls_last: { dir: "ASC", nulls: "LAST" },
  asc_nulls_first: { dir: "ASC", nulls: "FIRST" },
  desc: { dir: "DESC", nulls: "FIRST" },
  desc_nulls_first: { dir: "DESC", nulls: "FIRST" },
  desc_nulls_last: { dir: "DESC", nulls: "LAST" },
};

/**
 * `order_by` (an object or a list of them) as ORDER BY terms. Nulls are placed as in
 * PostgreSQL (last ascending, first descending) unless a `_nulls_*` direction says otherwise;
 * a NULLS clause is written only where the dialect's own placement differs.
 * Object relations order by a correlated subquery; array relations cannot order.
 */
export function compileOrderBy(facts: SchemaFacts, b: SQLBuilder, table: TableName, alias: string, orderBy: unknown): string[] {
  if (orderBy === null || orderBy === undefined) return [];
  const list = Array.isArray(orderBy) ? orderBy : [orderBy];
  const terms: string[] = [];
  const bounds = { maxTerms: settings.maxOrderByTerms(), maxRelations: settings.maxWhereRelationDepth() };
  list.forEach((item, i) => {
    const path = Array.isArray(orderBy) ? `order_by[${i}]` : "order_by";
    orderTerms(facts, b, { table, alias, item, path, wrap: (expr) => expr, relations: 0 }, bounds, terms);
  });
  return terms;
}

interface OrderScope {
  table: TableName;
  alias: string;
  item: unknown;
  path: string;
  wrap: (expr: string) => string;
  /** Object relations followed to get here (0: the table's own columns). */
  relations: number;
}

function orderTerms(facts: SchemaFacts, b: SQLBuilder, scope: OrderScope, bounds: { maxTerms: number; maxRelations: number }, terms: string[]): void {
  const { table, alias, item, path, wrap } = scope;
  if (item === null || item === undefined) return;
  if (!isObject(item)) throw validationError(`${path}: expected an object such as { name: asc }`);
  for (const [key, value] of Object.entries(item)) {
    if (value === undefined || value === null) continue;
    const at = `${path}.${key}`;
    if (columnType(table, key)) {
      const direction = typeof value === "string" && Object.hasOwn(DIRECTIONS, value) ? DIRECTIONS[value]! : undefined;
      if (!direction) throw validationError(`${at}: expected one of ${Object.keys(DIRECTIONS).join(", ")}`);
      if (terms.length >= bounds.maxTerms) {
        throw validationError(`${at}: order_by has more than ${bounds.maxTerms} terms (PREFECTLITE_MAX_ORDER_BY_TERMS): order by fewer columns`);
      }
      const mayBeNull = scope.relations > 0 || !facts.notNull(table, key);
      const nulls = mayBeNull && b.dialect.nullsByDefault[direction.dir] !== direction.nulls ? ` NULLS ${direction.nulls}` : "";
      terms.push(`${wrap(columnSQL(b.dialect, table, alias, key))} ${direction.dir}${nulls}`);
      continue;
    }
    const relation = relationOf(table, key);
    if (!relation) throw validationError(`${at}: '${key}' is not a column or relation of ${table}`);
    if (relation.kind !== "object") throw validationError(`${at}: cannot order by the list relation '${key}'`);
    if (scope.relations + 1 > bounds.maxRelations) {
      throw validationError(`${at}: order_by follows more than ${bounds.maxRelations} relations in a row (PREFECTLITE_MAX_WHERE_RELATION_DEPTH)`);
    }
    const inner = b.alias();
    const sub = (expr: string) =>
      wrap(
        `(SELECT ${expr} FROM ${tableSource(b.dialect, relation.table)} AS ${inner} WHERE ${columnSQL(b.dialect, relation.table, inner, relation.to)} = ` +
          `${columnSQL(b.dialect, table, alias, relation.from)})`,
      );
    orderTerms(facts, b, { table: relation.table, alias: inner, item: value, path: at, wrap: sub, relations: scope.relations + 1 }, bounds, terms);
  }
}

// ---------------------------------------------------------------------------------------------
// limit / offset

/**
 * A limit or offset as given (undefined when absent). The read side trusts its callers with
 * any size: the API bounds the limits a request may ask for (src/api/query-limits.ts).
 */
export function checkLimit(value: unknown, name: "limit" | "offset" | "cap"): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw validationError(`${name}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}
