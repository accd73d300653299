import type { Database, Statement } from "bun:sqlite";
import { validationError } from "../core/errors.ts";
import {
  checkLimit,
  columnType,
  compileOrderBy,
  compileWhere,
  declaration,
  newBuilder,
  quote,
  relationOf,
  type SchemaFacts,
  type SQLBuilder,
  type SQLValue,
} from "./query-where.ts";
import { TABLES, type TableName } from "./tables.ts";

/** A row as the API sees it: JSON columns parsed, booleans as true/false, times as ISO text. */
export type Row = Record<string, unknown>;

/** Hasura-style arguments of a list query. */
export interface SelectArgs {
  where?: unknown;
  order_by?: unknown;
  limit?: unknown;
  offset?: unknown;
}

/** The read side over the declared tables; every value is a bound parameter. */
export interface QueryEngine {
  /** Rows of `table` matching the arguments; `columns` (default: all) limits what is read. */
  select(table: TableName, args?: SelectArgs, columns?: readonly string[]): Row[];
  /** The row with this id, or null (also for a malformed id). */
  byPk(table: TableName, id: string, columns?: readonly string[]): Row | null;
  /** How many rows match `where`. */
  count(table: TableName, where?: unknown): number;
  /**
   * The rows related through `relation` of `table` to every parent key (the relation's
   * `from` column values), in one query, grouped by key. For a list relation `args` filter,
   * order and page each parent's rows separately.
   */
  selectRelated(table: TableName, relation: string, keys: readonly unknown[], args?: SelectArgs, columns?: readonly string[]): Map<unknown, Row[]>;
  /** How many related rows each parent key has (keys without any are absent), in one query. */
  countRelated(table: TableName, relation: string, keys: readonly unknown[], where?: unknown): Map<unknown, number>;
  /** Compiles `where` and `order_by` (throwing their Validation errors) without running anything. */
  check(table: TableName, args: Pick<SelectArgs, "where" | "order_by">): void;
  /** SQLite's plan (EXPLAIN QUERY PLAN details) for a select, or a relation load when `relation` is given. */
  queryPlan(request: { table: TableName; args?: SelectArgs; columns?: readonly string[]; relation?: string; keys?: readonly unknown[] }): string[];
}

const STATEMENT_CACHE_SIZE = 500;

/** The query engine of a database: built once per database (it caches statements). */
export function createQueryEngine(db: Database): QueryEngine {
  const existing = engines.get(db);
  if (existing) return existing;
  const engine = buildEngine(db);
  engines.set(db, engine);
  return engine;
}

const engines = new WeakMap<Database, QueryEngine>();

function buildEngine(db: Database): QueryEngine {
  const facts = readSchemaFacts(db);
  const statements = new Map<string, Statement>();

  /** A prepared statement per SQL text, least recently used ones finalized past the cap. */
  function statement(sql: string): Statement {
    let stmt = statements.get(sql);
    if (stmt) {
      statements.delete(sql);
    } else {
      stmt = db.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) {
        const [oldest, old] = statements.entries().next().value!;
        statements.delete(oldest);
        old.finalize();
      }
    }
    statements.set(sql, stmt);
    return stmt;
  }

  const all = (sql: string, params: SQLValue[]) => {
    try {
      return statement(sql).all(...params) as Row[];
    } catch (e) {
      throw tooComplex(e) ?? e;
    }
  };

  return {
    select(table, args = {}, columns) {
      const { sql, params } = compileSelect(facts, table, args, columns);
      return decodeRows(table, all(sql, params));
    },

    byPk(table, id, columns) {
      if (typeof id !== "string") throw validationError(`${table}_by_pk: expected an id`);
      const sql = `SELECT ${columnList(table, columns, "t0")} FROM ${quote(table)} AS t0 WHERE t0."id" = ?`;
      const rows = all(sql, [id.toLowerCase()]);
      return rows.length ? decodeRows(table, rows)[0]! : null;
    },

    count(table, where) {
      const b = newBuilder();
      const condition = compileWhere(b, table, "t0", where);
      const sql = `SELECT count(*) AS n FROM ${quote(table)} AS t0${condition === "1" ? "" : ` WHERE ${condition}`}`;
      return (all(sql, b.params)[0] as { n: number }).n;
    },

    selectRelated(table, name, keys, args = {}, columns) {
      const grouped = new Map<unknown, Row[]>();
      const compiled = compileRelated(facts, table, name, keys, args, columns);
      if (!compiled) return grouped;
      const { sql, params, target, key } = compiled;
      for (const row of decodeRows(target, all(sql, params))) {
        const k = row[key];
        const list = grouped.get(k);
        if (list) list.push(row);
        else grouped.set(k, [row]);
      }
      return grouped;
    },

    countRelated(table, name, keys, where) {
      const counts = new Map<unknown, number>();
      const relation = relationOf(table, name);
      if (!relation || relation.kind !== "array") throw validationError(`'${name}' is not a list relation of ${table}`);
      const unique = [...new Set(keys.filter((k) => k !== null && k !== undefined))];
      if (unique.length === 0) return counts;
      const key = quote(relation.to);
      const b = newBuilder();
      b.params.push(JSON.stringify(unique));
      const condition = compileWhere(b, relation.table, "t0", where);
      const sql =
        `SELECT t0.${key} AS k, count(*) AS n FROM ${quote(relation.table)} AS t0 ` +
        `WHERE t0.${key} IN (SELECT value FROM json_each(?))${condition === "1" ? "" : ` AND (${condition})`} GROUP BY t0.${key}`;
      for (const row of all(sql, b.params)) counts.set(row.k, row.n as number);
      return counts;
    },

    check(table, args) {
      const b = newBuilder();
      compileWhere(b, table, "t0", args.where);
      compileOrderBy(facts, b, table, "t0", args.order_by);
    },

    queryPlan(request) {
      const compiled =
        request.relation === undefined
          ? compileSelect(facts, request.table, request.args ?? {}, request.columns)
          : compileRelated(facts, request.table, request.relation, request.keys ?? [], request.args ?? {}, request.columns);
      if (!compiled) return [];
      return (statement(`EXPLAIN QUERY PLAN ${compiled.sql}`).all(...compiled.params) as Array<{ detail: string }>).map((r) => r.detail);
    },
  };
}

/**
 * SQLite's own limits, should a query still meet one past the compiler's bounds, as the
 * Validation error they are (the request was too big), not an internal one.
 */
const SQLITE_LIMIT_ERRORS = /Expression tree is too large|too many terms|Recursion limit|parser stack overflow|too many SQL variables|LIKE or GLOB pattern too complex|string or blob too big/i;
const SQLITE_JSON_ERRORS = /malformed JSON|JSON nested too deep/i;

function tooComplex(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  if (SQLITE_LIMIT_ERRORS.test(error.message)) {
    return validationError(`the query is too large for the database (SQLite: ${error.message}): use fewer conditions or smaller values`);
  }
  if (SQLITE_JSON_ERRORS.test(error.message)) {
    return validationError(`a JSON value this query compares or reads nests too deeply for the database (SQLite: ${error.message})`);
  }
  return undefined;
}

function compileSelect(facts: SchemaFacts, table: TableName, args: SelectArgs, columns: readonly string[] | undefined) {
  const b = newBuilder();
  const where = compileWhere(b, table, "t0", args.where);
  const order = compileOrderBy(facts, b, table, "t0", args.order_by);
  let sql = `SELECT ${columnList(table, columns, "t0")} FROM ${quote(table)} AS t0`;
  if (where !== "1") sql += ` WHERE ${where}`;
  if (order.length) sql += ` ORDER BY ${order.join(", ")}`;
  sql += paging(b, args);
  return { sql, params: b.params };
}

/** The query for the related rows of many parents (undefined when there are no keys). */
function compileRelated(
  facts: SchemaFacts,
  table: TableName,
  name: string,
  keys: readonly unknown[],
  args: SelectArgs,
  columns: readonly string[] | undefined,
) {
  const relation = relationOf(table, name);
  if (!relation) throw validationError(`'${name}' is not a relation of ${table}`);
  const unique = [...new Set(keys.filter((k) => k !== null && k !== undefined))];
  if (unique.length === 0) return undefined;
  const target = relation.table;
  const key = quote(relation.to);
  const wanted = columns && !columns.includes(relation.to) ? [...columns, relation.to] : columns;
  const b = newBuilder();
  b.params.push(unique.length === 1 ? (unique[0] as SQLValue) : JSON.stringify(unique));
  const inKeys = unique.length === 1 ? `t0.${key} = ?` : `t0.${key} IN (SELECT value FROM json_each(?))`;
  const isList = relation.kind === "array";
  const where = compileWhere(b, target, "t0", isList ? args.where : undefined);
  const condition = where === "1" ? inKeys : `${inKeys} AND (${where})`;
  const order = isList ? compileOrderBy(facts, b, target, "t0", args.order_by) : [];
  const limit = isList ? checkLimit(args.limit, "limit") : undefined;
  const offset = isList ? checkLimit(args.offset, "offset") : undefined;
  let sql: string;
  if (limit === undefined && !offset) {
    sql = `SELECT ${columnList(target, wanted, "t0")} FROM ${quote(target)} AS t0 WHERE ${condition}`;
    if (order.length) sql += ` ORDER BY ${order.join(", ")}`;
  } else {
    // Page each parent's rows on its own: number them per key, keep the window.
    const window = `ROW_NUMBER() OVER (PARTITION BY t0.${key} ORDER BY ${order.length ? order.join(", ") : "t0.rowid"})`;
    sql =
      `SELECT ${columnList(target, wanted, "")} FROM (SELECT ${columnList(target, wanted, "t0")}, ${window} AS "__rn" ` +
      `FROM ${quote(target)} AS t0 WHERE ${condition}) WHERE "__rn" > ?` +
      (limit === undefined ? "" : ` AND "__rn" <= ?`) +
      ` ORDER BY "__rn"`;
    b.params.push(offset ?? 0);
    if (limit !== undefined) b.params.push((offset ?? 0) + limit);
  }
  return { sql, params: b.params, target, key: relation.to };
}

function paging(b: SQLBuilder, args: SelectArgs): string {
  const limit = checkLimit(args.limit, "limit");
  const offset = checkLimit(args.offset, "offset");
  let sql = "";
  if (limit !== undefined) {
    sql += " LIMIT ?";
    b.params.push(limit);
  }
  if (offset) {
    sql += limit === undefined ? " LIMIT -1 OFFSET ?" : " OFFSET ?";
    b.params.push(offset);
  }
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

/** JSON columns parsed and booleans as booleans, in place. */
function decodeRows(table: TableName, rows: Row[]): Row[] {
  if (rows.length === 0) return rows;
  const decl = declaration(table);
  const json: string[] = [];
  const booleans: string[] = [];
  for (const name of Object.keys(rows[0]!)) {
    const type = Object.hasOwn(decl.columns, name) ? decl.columns[name] : undefined;
    if (type === "json") json.push(name);
    else if (type === "boolean") booleans.push(name);
  }
  if (json.length === 0 && booleans.length === 0) return rows;
  for (const row of rows) {
    for (const name of json) {
      const text = row[name];
      if (typeof text === "string") row[name] = JSON.parse(text);
    }
    for (const name of booleans) {
      const value = row[name];
      if (value !== null && value !== undefined) row[name] = value === 1 || value === true;
    }
  }
  return rows;
}

/** NOT NULL columns of every declared table, read once from the database. */
function readSchemaFacts(db: Database): SchemaFacts {
  const notNull = new Map<string, Set<string>>();
  for (const table of Object.keys(TABLES)) {
    const info = db.query(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string; notnull: number; pk: number }>;
    notNull.set(table, new Set(info.filter((c) => c.notnull === 1 || c.pk === 1).map((c) => c.name)));
  }
  return { notNull: (table, column) => notNull.get(table)?.has(column) ?? false };
}
