import type { Database, Statement } from "bun:sqlite";
import type { SQL } from "bun";
import { validationError } from "../core/errors.ts";
import { isUuid, POSTGRES, SQLITE, type Dialect } from "./query-dialect.ts";
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
import { TABLES, type TableName } from "./tables.ts";

/** A row as the API sees it: JSON columns parsed, booleans as true/false, times as ISO text with ms and Z. */
export type Row = Record<string, unknown>;

/** Hasura-style arguments of a list query. */
export interface SelectArgs {
  where?: unknown;
  order_by?: unknown;
  limit?: unknown;
  offset?: unknown;
}

export interface PlanRequest {
  table: TableName;
  args?: SelectArgs;
  columns?: readonly string[];
  relation?: string;
  keys?: readonly unknown[];
}

/** The read side over the declared tables, on SQLite or PostgreSQL; every value is a bound parameter. */
export interface QueryEngine {
  /** Rows of `table` matching the arguments; `columns` (default: all) limits what is read. */
  select(table: TableName, args?: SelectArgs, columns?: readonly string[]): Promise<Row[]>;
  /** The row with this id, or null (also for a malformed id). */
  byPk(table: TableName, id: string, columns?: readonly string[]): Promise<Row | null>;
  /** How many rows match `where`. */
  count(table: TableName, where?: unknown): Promise<number>;
  /**
   * The rows related through `relation` of `table` to every parent key (the relation's
   * `from` column values), in one query, grouped by key. For a list relation `args` filter,
   * order and page each parent's rows separately.
   */
  selectRelated(table: TableName, relation: string, keys: readonly unknown[], args?: SelectArgs, columns?: readonly string[]): Promise<Map<unknown, Row[]>>;
  /** How many related rows each parent key has (keys without any are absent), in one query. */
  countRelated(table: TableName, relation: string, keys: readonly unknown[], where?: unknown): Promise<Map<unknown, number>>;
  /** Compiles `where` and `order_by` (throwing their Validation errors) without running anything. */
  check(table: TableName, args: Pick<SelectArgs, "where" | "order_by">): void;
  /**
   * The database's plan for a select, or a relation load when `relation` is given: SQLite's
   * EXPLAIN QUERY PLAN details; PostgreSQL's plan nodes, one line each ("Index Scan using flow_run_pkey on flow_run t0").
   */
  queryPlan(request: PlanRequest): Promise<string[]>;
}

/** QueryEngine without promises: bun:sqlite is synchronous (callers not yet async use this one). */
export type SyncQueryEngine = {
  [K in keyof QueryEngine]: QueryEngine[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : QueryEngine[K];
};

// ---------------------------------------------------------------------------------------------
// Compiling (shared by both dialects)

interface Compiled {
  sql: string;
  params: SQLValue[];
}

/** The compiler of one database: its dialect and the schema facts read from it. */
interface Compiler {
  dialect: Dialect;
  facts: SchemaFacts;
}

function compileSelect({ dialect, facts }: Compiler, table: TableName, args: SelectArgs, columns: readonly string[] | undefined): Compiled {
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

function compileByPk(dialect: Dialect, table: TableName, id: string, columns: readonly string[] | undefined): Compiled {
  const b = newBuilder(dialect);
  const sql = `SELECT ${columnList(table, columns, "t0")} FROM ${quote(table)} AS t0 WHERE t0."id" = ${b.param(id.toLowerCase())}`;
  return { sql, params: b.params };
}

function compileCount(dialect: Dialect, table: TableName, where: unknown): Compiled {
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
function compileRelated(
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

function compileCountRelated(dialect: Dialect, table: TableName, name: string, keys: readonly unknown[], where: unknown): Compiled | undefined {
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

function compilePlanned(compiler: Compiler, request: PlanRequest): Compiled | undefined {
  return request.relation === undefined
    ? compileSelect(compiler, request.table, request.args ?? {}, request.columns)
    : compileRelated(compiler, request.table, request.relation, request.keys ?? [], request.args ?? {}, request.columns);
}

/** Compiles only, to throw the arguments' Validation errors (no schema facts needed for that). */
function checkArgs(dialect: Dialect, table: TableName, args: Pick<SelectArgs, "where" | "order_by">): void {
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

// ---------------------------------------------------------------------------------------------
// Rows as the API sees them

/** The dialect's raw values turned into the API's (parsed JSON, booleans, ISO times), in place. */
function decodeRows(dialect: Dialect, table: TableName, rows: Row[]): Row[] {
  if (rows.length === 0) return rows;
  const decl = declaration(table);
  const decoded: Array<[string, (typeof decl.columns)[string]]> = [];
  for (const name of Object.keys(rows[0]!)) {
    const type = Object.hasOwn(decl.columns, name) ? decl.columns[name] : undefined;
    if (type && dialect.decodedTypes.includes(type)) decoded.push([name, type]);
  }
  if (decoded.length === 0) return rows;
  for (const row of rows) for (const [name, type] of decoded) row[name] = dialect.decode(type, row[name]);
  return rows;
}

function groupByKey(rows: Row[], key: string): Map<unknown, Row[]> {
  const grouped = new Map<unknown, Row[]>();
  for (const row of rows) {
    const k = row[key];
    const list = grouped.get(k);
    if (list) list.push(row);
    else grouped.set(k, [row]);
  }
  return grouped;
}

function countsByKey(rows: Row[]): Map<unknown, number> {
  const counts = new Map<unknown, number>();
  for (const row of rows) counts.set(row.k, Number(row.n));
  return counts;
}

// ---------------------------------------------------------------------------------------------
// SQLite (bun:sqlite: synchronous, a statement cache per database)

const STATEMENT_CACHE_SIZE = 500;

const syncEngines = new WeakMap<Database, SyncQueryEngine>();
const asyncEngines = new WeakMap<Database, QueryEngine>();

/** The synchronous SQLite engine of a database: built once per database (it caches statements). */
export function createSyncQueryEngine(db: Database): SyncQueryEngine {
  let engine = syncEngines.get(db);
  if (!engine) {
    engine = buildSqliteEngine(db);
    syncEngines.set(db, engine);
  }
  return engine;
}

/** The query engine of a SQLite database (one per database; its statements are cached). */
export function createQueryEngine(db: Database): QueryEngine {
  let engine = asyncEngines.get(db);
  if (!engine) {
    const sync = createSyncQueryEngine(db);
    // A throw becomes a rejection, as on PostgreSQL.
    const later =
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      async (...args: A): Promise<R> =>
        fn(...args);
    engine = {
      select: later(sync.select),
      byPk: later(sync.byPk),
      count: later(sync.count),
      selectRelated: later(sync.selectRelated),
      countRelated: later(sync.countRelated),
      check: sync.check,
      queryPlan: later(sync.queryPlan),
    };
    asyncEngines.set(db, engine);
  }
  return engine;
}

function buildSqliteEngine(db: Database): SyncQueryEngine {
  const compiler: Compiler = { dialect: SQLITE, facts: readSqliteFacts(db) };
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

  const all = ({ sql, params }: Compiled) => {
    try {
      return statement(sql).all(...(params as Array<string | number | null>)) as Row[];
    } catch (e) {
      throw sqliteTooComplex(e) ?? e;
    }
  };

  return {
    select: (table, args = {}, columns) => decodeRows(SQLITE, table, all(compileSelect(compiler, table, args, columns))),

    byPk(table, id, columns) {
      if (typeof id !== "string") throw validationError(`${table}_by_pk: expected an id`);
      const rows = all(compileByPk(SQLITE, table, id, columns));
      return rows.length ? decodeRows(SQLITE, table, rows)[0]! : null;
    },

    count: (table, where) => Number(all(compileCount(SQLITE, table, where))[0]!.n),

    selectRelated(table, name, keys, args = {}, columns) {
      const compiled = compileRelated(compiler, table, name, keys, args, columns);
      if (!compiled) return new Map();
      return groupByKey(decodeRows(SQLITE, compiled.target, all(compiled)), compiled.key);
    },

    countRelated(table, name, keys, where) {
      const compiled = compileCountRelated(SQLITE, table, name, keys, where);
      return compiled ? countsByKey(all(compiled)) : new Map();
    },

    check: (table, args) => checkArgs(SQLITE, table, args),

    queryPlan(request) {
      const compiled = compilePlanned(compiler, request);
      if (!compiled) return [];
      const rows = statement(`EXPLAIN QUERY PLAN ${compiled.sql}`).all(...(compiled.params as Array<string | number | null>)) as Array<{ detail: string }>;
      return rows.map((r) => r.detail);
    },
  };
}

/**
 * SQLite's own limits, should a query still meet one past the compiler's bounds, as the
 * Validation error they are (the request was too big), not an internal one.
 */
const SQLITE_LIMIT_ERRORS = /Expression tree is too large|too many terms|Recursion limit|parser stack overflow|too many SQL variables|LIKE or GLOB pattern too complex|string or blob too big/i;
const SQLITE_JSON_ERRORS = /malformed JSON|JSON nested too deep/i;

function sqliteTooComplex(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  if (SQLITE_LIMIT_ERRORS.test(error.message)) {
    return validationError(`the query is too large for the database (SQLite: ${error.message}): use fewer conditions or smaller values`);
  }
  if (SQLITE_JSON_ERRORS.test(error.message)) {
    return validationError(`a JSON value this query compares or reads nests too deeply for the database (SQLite: ${error.message})`);
  }
  return undefined;
}

/** NOT NULL columns of every declared table, read once from the database. */
function readSqliteFacts(db: Database): SchemaFacts {
  const notNull = new Map<string, Set<string>>();
  for (const table of Object.keys(TABLES)) {
    const info = db.query(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string; notnull: number; pk: number }>;
    notNull.set(table, new Set(info.filter((c) => c.notnull === 1 || c.pk === 1).map((c) => c.name)));
  }
  return factsOf(notNull);
}

function factsOf(notNull: Map<string, Set<string>>): SchemaFacts {
  return { notNull: (table, column) => notNull.get(table)?.has(column) ?? false };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (Bun's SQL client: `$n` parameters through sql.unsafe, prepared per connection)

/** The query engine over a PostgreSQL pool (schema facts are read on first use). */
export function createPostgresQueryEngine(sql: SQL): QueryEngine {
  let compiler: Promise<Compiler> | undefined;
  const ready = () => (compiler ??= readPostgresFacts(sql).then((facts) => ({ dialect: POSTGRES, facts })));
  ready().catch(() => {
    compiler = undefined; // retried by the next query (the database may come back)
  });

  const all = async ({ sql: text, params }: Compiled): Promise<Row[]> => {
    try {
      return [...((await sql.unsafe(text, params as unknown[])) as Row[])];
    } catch (e) {
      throw postgresTooComplex(e) ?? e;
    }
  };

  return {
    async select(table, args = {}, columns) {
      return decodeRows(POSTGRES, table, await all(compileSelect(await ready(), table, args, columns)));
    },

    async byPk(table, id, columns) {
      if (typeof id !== "string") throw validationError(`${table}_by_pk: expected an id`);
      if (!isUuid(id)) return null; // PostgreSQL would refuse to compare it with a uuid column
      const rows = await all(compileByPk(POSTGRES, table, id, columns));
      return rows.length ? decodeRows(POSTGRES, table, rows)[0]! : null;
    },

    async count(table, where) {
      return Number((await all(compileCount(POSTGRES, table, where)))[0]!.n);
    },

    async selectRelated(table, name, keys, args = {}, columns) {
      const compiled = compileRelated(await ready(), table, name, keys, args, columns);
      if (!compiled) return new Map();
      return groupByKey(decodeRows(POSTGRES, compiled.target, await all(compiled)), compiled.key);
    },

    async countRelated(table, name, keys, where) {
      const compiled = compileCountRelated(POSTGRES, table, name, keys, where);
      return compiled ? countsByKey(await all(compiled)) : new Map();
    },

    check: (table, args) => checkArgs(POSTGRES, table, args),

    async queryPlan(request) {
      const compiled = compilePlanned(await ready(), request);
      if (!compiled) return [];
      const rows = await all({ sql: `EXPLAIN (FORMAT JSON) ${compiled.sql}`, params: compiled.params });
      const plan = (rows[0]?.["QUERY PLAN"] as Array<{ Plan: PlanNode }> | undefined)?.[0]?.Plan;
      return plan ? planLines(plan) : [];
    },
  };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Scan Direction"?: string;
  "Relation Name"?: string;
  Alias?: string;
  Plans?: PlanNode[];
}

/** The plan's nodes, depth first: "Index Scan using flow_run_pkey on flow_run t0", "Sort", … */
function planLines(root: PlanNode): string[] {
  const lines: string[] = [];
  const visit = (node: PlanNode) => {
    let line = node["Node Type"] + (node["Scan Direction"] === "Backward" ? " Backward" : "");
    if (node["Index Name"]) line += ` using ${node["Index Name"]}`;
    if (node["Relation Name"]) line += ` on ${node["Relation Name"]}${node.Alias && node.Alias !== node["Relation Name"] ? ` ${node.Alias}` : ""}`;
    lines.push(line);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return lines;
}

/** PostgreSQL's limits and refusals of a value, as the Validation errors they are. */
function postgresTooComplex(error: unknown): Error | undefined {
  const state = (error as { errno?: unknown } | null)?.errno;
  const message = error instanceof Error ? error.message : String(error);
  if (state === "54000" || state === "54001") {
    return validationError(`the query is too large for the database (PostgreSQL: ${message}): use fewer conditions or smaller values`);
  }
  if (state === "22003" || state === "22P02" || state === "22007" || state === "22008") {
    return validationError(`a value of this query does not fit its column (PostgreSQL: ${message})`);
  }
  return undefined;
}

/** NOT NULL columns of every declared table (information_schema of the current schema). */
async function readPostgresFacts(sql: SQL): Promise<SchemaFacts> {
  const rows = (await sql`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND is_nullable = 'NO'`) as Array<{ table_name: string; column_name: string }>;
  const notNull = new Map<string, Set<string>>();
  for (const { table_name, column_name } of rows) {
    if (!Object.hasOwn(TABLES, table_name)) continue;
    let set = notNull.get(table_name);
    if (!set) notNull.set(table_name, (set = new Set()));
    set.add(column_name);
  }
  return factsOf(notNull);
}
