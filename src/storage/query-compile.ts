import { validationError } from "../core/errors.ts";
import { isUuid, type Dialect } from "./query-dialect.ts";
import {
  checkLimit,
  columnType,
  compileOrderBy,
  compileWhere,
  declaration,
  isTrue,
  newBuilder,
  quote,
  relationOf,
  type SchemaFacts,
  type SQLBuilder,
  type SQLValue,
} from "./query-where.ts";
import type { PlanRequest, SelectArgs } from "./query.ts";
import type { TableName } from "./tables.ts";

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
  const where = compileWhere(b, table, "t0", args.where);
  let order = compileOrderBy(facts, b, table, "t0", args.order_by);
  if (order.length === 0 && dialect.orderUnorderedSelects) order = dialect.insertionOrder(table, "t0");
  let sql = `SELECT ${columnList(table, columns, "t0")} FROM ${quote(table)} AS t0`;
  if (!isTrue(b, where)) sql += ` WHERE ${where}`;
  if (order.length) sql += ` ORDER BY ${order.join(", ")}`;
  sql += paging(b, args);
  return { sql, params: b.params };
}

export function compileByPk(dialect: Dialect, table: TableName, id: string, columns: readonly string[] | undefined): Compiled {
  const b = newBuilder(dialect);
  const sql = `SELECT ${columnList(table, columns, "t0")} FROM ${quote(table)} AS t0 WHERE t0."id" = ${b.param(id.toLowerCase())}`;
  return { sql, params: b.params };
}

export function compileCount(dialect: Dialect, table: TableName, where: unknown): Compiled {
  const b = newBuilder(dialect);
  const condition = compileWhere(b, table, "t0", where);
  const sql = `SELECT count(*) AS n FROM ${quote(table)} AS t0${isTrue(b, condition) ? "" : ` WHERE ${condition}`}`;
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

/** `t0.column` equal to one of the keys. */
function keysCondition(b: SQLBuilder, target: TableName, column: string, keys: (string | number)[]): string {
  const qualified = `t0.${quote(column)}`;
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
  const inKeys = keysCondition(b, target, relation.to, unique);
  const isList = relation.kind === "array";
  const where = compileWhere(b, target, "t0", isList ? args.where : undefined);
  const condition = isTrue(b, where) ? inKeys : `${inKeys} AND (${where})`;
  const order = isList ? compileOrderBy(facts, b, target, "t0", args.order_by) : [];
  const limit = isList ? checkLimit(args.limit, "limit") : undefined;
  const offset = isList ? checkLimit(args.offset, "offset") : undefined;
  let sql: string;
  if (limit === undefined && !offset) {
    const terms = order.length || !dialect.orderUnorderedSelects ? order : dialect.insertionOrder(target, "t0");
    sql = `SELECT ${columnList(target, wanted, "t0")} FROM ${quote(target)} AS t0 WHERE ${condition}`;
    if (terms.length) sql += ` ORDER BY ${terms.join(", ")}`;
  } else {
    // Page each parent's rows on its own: number them per key, keep the window.
    const terms = order.length ? order : dialect.insertionOrder(target, "t0");
    const window = `ROW_NUMBER() OVER (PARTITION BY t0.${key} ORDER BY ${terms.join(", ")})`;
    sql =
      `SELECT ${columnList(target, wanted, "")} FROM (SELECT ${columnList(target, wanted, "t0")}, ${window} AS "__rn" ` +
      `FROM ${quote(target)} AS t0 WHERE ${condition}) AS paged WHERE "__rn" > ${b.param(offset ?? 0)}` +
      (limit === undefined ? "" : ` AND "__rn" <= ${b.param((offset ?? 0) + limit)}`) +
      ` ORDER BY "__rn"`;
  }
  return { sql, params: b.params, target, key: relation.to };
}

export function compileCountRelated(dialect: Dialect, table: TableName, name: string, keys: readonly unknown[], where: unknown): Compiled | undefined {
  const relation = relationOf(table, name);
  if (!relation || relation.kind !== "array") throw validationError(`'${name}' is not a list relation of ${table}`);
  const unique = relationKeys(relation.table, relation.to, keys);
  if (unique.length === 0) return undefined;
  const key = quote(relation.to);
  const b = newBuilder(dialect);
  const inKeys = keysCondition(b, relation.table, relation.to, unique);
  const condition = compileWhere(b, relation.table, "t0", where);
  const sql =
    `SELECT t0.${key} AS k, count(*) AS n FROM ${quote(relation.table)} AS t0 ` +
    `WHERE ${inKeys}${isTrue(b, condition) ? "" : ` AND (${condition})`} GROUP BY t0.${key}`;
  return { sql, params: b.params };
}

export function compilePlanned(compiler: Compiler, request: PlanRequest): Compiled | undefined {
  return request.relation === undefined
    ? compileSelect(compiler, request.table, request.args ?? {}, request.columns)
    : compileRelated(compiler, request.table, request.relation, request.keys ?? [], request.args ?? {}, request.columns);
}

/** Compiles only, to throw the arguments' Validation errors (no schema facts needed for that). */
export function checkArgs(dialect: Dialect, table: TableName, args: Pick<SelectArgs, "where" | "order_by">): void {
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

/** The exposed columns to read (validated against the declaration), qualified by alias. */
function columnList(table: TableName, columns: readonly string[] | undefined, alias: string): string {
  const names = columns ?? visibleColumns(table);
  if (names.length === 0) return `${alias ? `${alias}.` : ""}"id"`;
  return names
    .map((name) => {
      if (!columnType(table, name)) throw validationError(`'${name}' is not a column of ${table}`);
      return alias ? `${alias}.${quote(name)}` : quote(name);
    })
    .join(", ");
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
