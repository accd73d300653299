import { validationError } from "../core/errors.ts";
import { isUuid, type Dialect } from "./query-dialect.ts";
import {
  checkLimit,
  columnSQL,
  columnType,
  compileOrderBy,
  compileWhere,
  declaration,
  isTrue,
  newBuilder,
  quote,
  relationOf,
  tableSource,
  type SchemaFacts,
  type SQLBuilder,
  type SQLValue,
} from "./query-where.ts";
import { intervalText } from "./query-where.ts";
import type { AggregateSpec, PlanRequest, SelectArgs } from "./query.ts";
import type { ColumnType, TableName } from "./tables.ts";

// The SQL of the query engine's reads, shared by both dialects: text and bound parameters.

export interface Compiled {
  sql: string;
  params: SQLValue[];
}

/** The compiler of one database: its dialect and the schema facts read from it. */
export interface Compiler {
  dialect: Dialect;
  facts: SchemaFacts;
}

export function compileSelect({ dialect, facts }: Compiler, table: TableName, args: SelectArgs, columns: readonly string[] | undefined): Compiled {
  const b = newBuilder(dialect);
  const distinct = distinctColumns(table, args.distinct_on);
  const where = distinct.length
    ? distinctCondition({ dialect, facts }, b, table, distinct, args, undefined)
    : compileWhere(b, table, "t0", args.where);
  let order = compileOrderBy(facts, b, table, "t0", args.order_by);
  if (order.length === 0 && dialect.orderUnorderedSelects) order = insertionOrder(dialect, table, "t0");
  let sql = `SELECT ${columnList(dialect, table, columns, "t0")} FROM ${tableSource(dialect, table)} AS t0`;
  if (!isTrue(b, where)) sql += ` WHERE ${where}`;
  if (order.length) sql += ` ORDER BY ${order.join(", ")}`;
  sql += paging(b, args);
  return { sql, params: b.params };
}

/** The insertion order of a table (a table of constant rows: by id). */
function insertionOrder(dialect: Dialect, table: TableName, alias: string): string[] {
  return declaration(table).constantRows ? [`${alias}."id"`] : dialect.insertionOrder(table, alias);
}

/** `distinct_on` (one column or a list) as the distinct column names, validated. */
function distinctColumns(table: TableName, value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  const names = new Set<string>();
  list.forEach((name, i) => {
    if (typeof name !== "string" || !columnType(table, name)) {
      throw validationError(`distinct_on${Array.isArray(value) ? `[${i}]` : ""}: ${JSON.stringify(name)} is not a column of ${table}`);
    }
    names.add(name);
  });
  return [...names];
}

/**
 * `distinct_on`: of the rows matching `where`, the first of each group of equal distinct
 * columns in `order_by`'s order (Hasura's DISTINCT ON, without its rule that order_by begin
 * with the distinct columns), as a condition on t0's id. A relation's rows are grouped per
 * parent too (`keys`: the relation column and its parents' keys).
 */
function distinctCondition(
  { dialect, facts }: Compiler,
  b: SQLBuilder,
  table: TableName,
  distinct: string[],
  args: SelectArgs,
  keys: { column: string; values: (string | number)[] } | undefined,
): string {
  const alias = b.alias();
  const conditions: string[] = [];
  if (keys) conditions.push(keysCondition(b, table, keys.column, keys.values, alias));
  const where = compileWhere(b, table, alias, args.where);
  if (!isTrue(b, where)) conditions.push(`(${where})`);
  let order = compileOrderBy(facts, b, table, alias, args.order_by);
  if (order.length === 0) order = insertionOrder(dialect, table, alias);
  const partition = [...(keys ? [keys.column] : []), ...distinct].map((c) => columnSQL(dialect, table, alias, c));
  return (
    `t0."id" IN (SELECT "id" FROM (SELECT ${alias}."id", ROW_NUMBER() OVER (PARTITION BY ${partition.join(", ")} ORDER BY ${order.join(", ")}) AS "__d" ` +
    `FROM ${tableSource(dialect, table)} AS ${alias}${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""}) AS distinct_rows WHERE "__d" = 1)`
  );
}

export function compileByPk(dialect: Dialect, table: TableName, id: string, columns: readonly string[] | undefined): Compiled {
  const b = newBuilder(dialect);
  const sql = `SELECT ${columnList(dialect, table, columns, "t0")} FROM ${tableSource(dialect, table)} AS t0 WHERE t0."id" = ${b.param(id.toLowerCase())}`;
  return { sql, params: b.params };
}

export function compileCount(dialect: Dialect, table: TableName, where: unknown): Compiled {
  const b = newBuilder(dialect);
  const condition = compileWhere(b, table, "t0", where);
  const sql = `SELECT count(*) AS n FROM ${tableSource(dialect, table)} AS t0${isTrue(b, condition) ? "" : ` WHERE ${condition}`}`;
  return { sql, params: b.params };
}

/** The distinct non-null parent keys that can match the relation's column (a malformed uuid matches nothing). */
function relationKeys(target: TableName, column: string, keys: readonly unknown[]): (string | number)[] {
  const uuid = columnType(target, column) === "uuid";
  const unique = new Set<string | number>();
  for (const k of keys) {
    if (k === null || k === undefined) continue;
    if (uuid && !isUuid(k)) continue;
    unique.add(k as string | number);
  }
  return [...unique];
}

/** `alias.column` equal to one of the keys. */
function keysCondition(b: SQLBuilder, target: TableName, column: string, keys: (string | number)[], alias = "t0"): string {
  const qualified = columnSQL(b.dialect, target, alias, column);
  if (keys.length === 1) return `${qualified} = ${b.param(keys[0]!)}`;
  const list = b.dialect.inList(columnType(target, column)!, keys);
  return list.condition(qualified, b.param(list.value), false);
}

/** The query for the related rows of many parents (undefined when there are no keys). */
export function compileRelated(
  { dialect, facts }: Compiler,
  table: TableName,
  name: string,
  keys: readonly unknown[],
  args: SelectArgs,
  columns: readonly string[] | undefined,
): (Compiled & { target: TableName; key: string }) | undefined {
  const relation = relationOf(table, name);
  if (!relation) throw validationError(`'${name}' is not a relation of ${table}`);
  const target = relation.table;
  const unique = relationKeys(target, relation.to, keys);
  if (unique.length === 0) return undefined;
  const key = quote(relation.to);
  const wanted = columns && !columns.includes(relation.to) ? [...columns, relation.to] : columns;
  const b = newBuilder(dialect);
  const isList = relation.kind === "array";
  const distinct = isList ? distinctColumns(target, args.distinct_on) : [];
  let condition: string;
  if (distinct.length) {
    condition = distinctCondition({ dialect, facts }, b, target, distinct, args, { column: relation.to, values: unique });
  } else {
    const inKeys = keysCondition(b, target, relation.to, unique);
    const where = compileWhere(b, target, "t0", isList ? args.where : undefined);
    condition = isTrue(b, where) ? inKeys : `${inKeys} AND (${where})`;
  }
  const order = isList ? compileOrderBy(facts, b, target, "t0", args.order_by) : [];
  const limit = isList ? checkLimit(args.limit, "limit") : undefined;
  const offset = isList ? checkLimit(args.offset, "offset") : undefined;
  let sql: string;
  if (limit === undefined && !offset) {
    const terms = order.length || !dialect.orderUnorderedSelects ? order : insertionOrder(dialect, target, "t0");
    sql = `SELECT ${columnList(dialect, target, wanted, "t0")} FROM ${tableSource(dialect, target)} AS t0 WHERE ${condition}`;
    if (terms.length) sql += ` ORDER BY ${terms.join(", ")}`;
  } else {
    // Page each parent's rows on its own: number them per key, keep the window.
    const terms = order.length ? order : insertionOrder(dialect, target, "t0");
    const window = `ROW_NUMBER() OVER (PARTITION BY ${columnSQL(dialect, target, "t0", relation.to)} ORDER BY ${terms.join(", ")})`;
    sql =
      `SELECT ${columnList(dialect, target, wanted, "")} FROM (SELECT ${columnList(dialect, target, wanted, "t0")}, ${window} AS "__rn" ` +
      `FROM ${tableSource(dialect, target)} AS t0 WHERE ${condition}) AS paged WHERE "__rn" > ${b.param(offset ?? 0)}` +
      (limit === undefined ? "" : ` AND "__rn" <= ${b.param((offset ?? 0) + limit)}`) +
      ` ORDER BY "__rn"`;
  }
  if (isList && args.cap !== undefined) sql += ` LIMIT ${b.param(checkLimit(args.cap, "cap")!)}`;
  return { sql, params: b.params, target, key: relation.to };
}

export function compileCountRelated(dialect: Dialect, table: TableName, name: string, keys: readonly unknown[], where: unknown): Compiled | undefined {
  const relation = relationOf(table, name);
  if (!relation || relation.kind !== "array") throw validationError(`'${name}' is not a list relation of ${table}`);
  const unique = relationKeys(relation.table, relation.to, keys);
  if (unique.length === 0) return undefined;
  const key = columnSQL(dialect, relation.table, "t0", relation.to);
  const b = newBuilder(dialect);
  const inKeys = keysCondition(b, relation.table, relation.to, unique);
  const condition = compileWhere(b, relation.table, "t0", where);
  const sql =
    `SELECT ${key} AS k, count(*) AS n FROM ${tableSource(dialect, relation.table)} AS t0 ` +
    `WHERE ${inKeys}${isTrue(b, condition) ? "" : ` AND (${condition})`} GROUP BY ${key}`;
  return { sql, params: b.params };
}

export function compilePlanned(compiler: Compiler, request: PlanRequest): Compiled | undefined {
  return request.relation === undefined
    ? compileSelect(compiler, request.table, request.args ?? {}, request.columns)
    : compileRelated(compiler, request.table, request.relation, request.keys ?? [], request.args ?? {}, request.columns);
}

/** Compiles only, to throw the arguments' Validation errors (no schema facts needed for that). */
export function checkArgs(dialect: Dialect, table: TableName, args: Pick<SelectArgs, "where" | "order_by" | "distinct_on">): void {
  distinctColumns(table, args.distinct_on);
  const b = newBuilder(dialect);
  compileWhere(b, table, "t0", args.where);
  compileOrderBy({ notNull: () => false }, b, table, "t0", args.order_by);
}

function paging(b: SQLBuilder, args: SelectArgs): string {
  const limit = checkLimit(args.limit, "limit");
  const offset = checkLimit(args.offset, "offset");
  let sql = "";
  if (limit !== undefined) sql += ` LIMIT ${b.param(limit)}`;
  if (offset) sql += limit === undefined ? b.dialect.offsetOnly(b.param(offset)) : ` OFFSET ${b.param(offset)}`;
  return sql;
}

/** The exposed columns to read (validated against the declaration), qualified by alias (virtual ones as their expressions). */
function columnList(dialect: Dialect, table: TableName, columns: readonly string[] | undefined, alias: string): string {
  const names = columns ?? visibleColumns(table);
  if (names.length === 0) return `${alias ? `${alias}.` : ""}"id"`;
  const virtual = declaration(table).virtual ?? {};
  return names
    .map((name) => {
      if (!columnType(table, name)) throw validationError(`'${name}' is not a column of ${table}`);
      if (!alias) return quote(name);
      return Object.hasOwn(virtual, name) ? `${columnSQL(dialect, table, alias, name)} AS ${quote(name)}` : `${alias}.${quote(name)}`;
    })
    .join(", ");
}

// ---------------------------------------------------------------------------------------------
// aggregates

/** Which aggregate functions take a column of each type (Hasura's max/min, sum/avg fields). */
export const AGGREGATE_COLUMN_TYPES: Record<"max" | "min" | "sum" | "avg", readonly ColumnType[]> = {
  max: ["int", "string", "timestamp", "interval"],
  min: ["int", "string", "timestamp", "interval"],
  sum: ["int", "interval"],
  avg: ["int", "interval"],
};

function aggregateExpression(dialect: Dialect, table: TableName, spec: AggregateSpec): string {
  const col = (name: string) => {
    if (!columnType(table, name)) throw validationError(`'${name}' is not a column of ${table}`);
    return `a.${quote(name)}`;
  };
  if (spec.fn === "count") {
    const columns = [...new Set(spec.columns ?? [])];
    if (columns.length === 0) return "count(*)";
    if (columns.length === 1) return `count(${spec.distinct ? "DISTINCT " : ""}${col(columns[0]!)})`;
    if (!spec.distinct) return "count(*)";
    const row = columns.map(col).join(", ");
    return dialect.name === "postgres" ? `count(DISTINCT (${row}))` : `count(DISTINCT json_array(${row}))`;
  }
  const type = columnType(table, spec.column!);
  if (!type || !AGGREGATE_COLUMN_TYPES[spec.fn].includes(type)) throw validationError(`${spec.fn}: '${spec.column}' is not a column it takes of ${table}`);
  return `${spec.fn}(${col(spec.column!)})`;
}

/** The columns the aggregates read. */
function aggregateColumns(specs: readonly AggregateSpec[]): string[] {
  const names = new Set<string>();
  for (const s of specs) for (const c of s.fn === "count" ? (s.columns ?? []) : [s.column!]) names.add(c);
  return [...names];
}

/** Aggregates over the rows a select with these arguments returns (so order_by/limit/offset/distinct_on apply first). */
export function compileAggregate(compiler: Compiler, table: TableName, args: SelectArgs, specs: readonly AggregateSpec[]): Compiled {
  const inner = compileSelect(compiler, table, args, aggregateColumns(specs));
  const exprs = specs.map((s, i) => `${aggregateExpression(compiler.dialect, table, s)} AS "a${i}"`);
  return { sql: `SELECT ${exprs.join(", ") || "count(*) AS a0"} FROM (${inner.sql}) AS a`, params: inner.params };
}

/** Aggregates of a list relation's rows per parent key (keys without rows are absent). */
export function compileAggregateRelated(
  compiler: Compiler,
  table: TableName,
  name: string,
  keys: readonly unknown[],
  args: SelectArgs,
  specs: readonly AggregateSpec[],
): Compiled | undefined {
  const relation = relationOf(table, name);
  if (!relation || relation.kind !== "array") throw validationError(`'${name}' is not a list relation of ${table}`);
  const inner = compileRelated(compiler, table, name, keys, args, aggregateColumns(specs));
  if (!inner) return undefined;
  const exprs = specs.map((s, i) => `${aggregateExpression(compiler.dialect, relation.table, s)} AS "a${i}"`);
  const key = `a.${quote(relation.to)}`;
  return { sql: `SELECT ${key} AS k, ${exprs.join(", ") || "count(*) AS a0"} FROM (${inner.sql}) AS a GROUP BY ${key}`, params: inner.params };
}

/** One result row's aggregates as the API shows them, by spec index. */
export function aggregateValues(dialect: Dialect, table: TableName, specs: readonly AggregateSpec[], row: Record<string, unknown> | undefined): unknown[] {
  return specs.map((spec, i) => {
    const value = row?.[`a${i}`];
    if (spec.fn === "count") return Number(value ?? 0);
    if (value === null || value === undefined) return null;
    const type = columnType(table, spec.column!)!;
    if (spec.fn === "avg") return type === "interval" ? intervalText(Number(value)) : Number(value);
    if (type === "interval") return intervalText(Number(value));
    if (type === "int") return Number(value);
    if (type === "timestamp") return dialect.name === "postgres" ? dialect.decode(type, value) : value;
    return value;
  });
}

const visible = new Map<TableName, string[]>();

export function visibleColumns(table: TableName): string[] {
  let names = visible.get(table);
  if (!names) {
    const decl = declaration(table);
    names = Object.keys(decl.columns).filter((c) => !decl.hidden?.includes(c));
    visible.set(table, names);
  }
  return names;
}

/** Schema facts over the NOT NULL columns read from a database, per table. */
export function factsOf(notNull: Map<string, Set<string>>): SchemaFacts {
  return { notNull: (table, column) => notNull.get(table)?.has(column) ?? false };
}
