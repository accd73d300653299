import type { TableName } from "./tables.ts";

/**
 * The query engine's contract: the read side of the API over the declared tables. Its SQL is
 * compiled in query-compile.ts (conditions in query-where.ts, dialects in query-dialect.ts), run
 * by query-sqlite.ts or query-postgres.ts, and its rows decoded by query-rows.ts.
 */
export { createPostgresQueryEngine } from "./query-postgres.ts";
export { createQueryEngine, createSyncQueryEngine } from "./query-sqlite.ts";
export { visibleColumns } from "./query-compile.ts";

/** A row as the API sees it: JSON columns parsed, booleans as true/false, times as ISO text with ms and Z. */
export type Row = Record<string, unknown>;

/** Hasura-style arguments of a list query. */
export interface SelectArgs {
  where?: unknown;
  order_by?: unknown;
  limit?: unknown;
  offset?: unknown;
  /** One column or a list: the first row (in order_by's order) of each group with equal values. */
  distinct_on?: unknown;
  /** At most this many rows in all (a relation: across all its parents), however many each may have. */
  cap?: number;
}

/** One aggregate of `<table>_aggregate { aggregate { … } }`: count (of some columns, distinct), or max/min/sum/avg of a column. */
export type AggregateSpec =
  | { fn: "count"; columns?: readonly string[]; distinct?: boolean }
  | { fn: "max" | "min" | "sum" | "avg"; column: string };

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
  /** The aggregates (by spec index) of the rows a select with `args` returns. */
  aggregate(table: TableName, args: SelectArgs, specs: readonly AggregateSpec[]): Promise<unknown[]>;
  /** The aggregates of a list relation's rows for every parent key, in one query (keys without rows absent). */
  aggregateRelated(table: TableName, relation: string, keys: readonly unknown[], args: SelectArgs, specs: readonly AggregateSpec[]): Promise<Map<unknown, unknown[]>>;
  /** Compiles `where` and `order_by` (throwing their Validation errors) without running anything. */
  check(table: TableName, args: Pick<SelectArgs, "where" | "order_by" | "distinct_on">): void;
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
