import type { ReadQueries } from "../storage/open.ts";
import type { AggregateSpec, Row, SelectArgs } from "../storage/query.ts";
import { AGGREGATE_COLUMN_TYPES } from "../storage/query-compile.ts";
import { OPERATORS } from "../storage/query-where.ts";
import { isTableName, TABLES, type ColumnType, type Relation, type TableDeclaration, type TableName } from "../storage/tables.ts";

/**
 * The read side the API queries (it may not reach storage itself): Hasura-style selects over
 * the declared tables, lookups by id, counts and batched relation loading. Reads change
 * nothing, so they need no rules; every write goes through Services.
 */
export interface ReadModel {
  /** Rows of `table` matching where/order_by/limit/offset; `columns` limits what is read. */
  select(table: TableName, args?: SelectArgs, columns?: readonly string[]): Promise<Row[]>;
  byPk(table: TableName, id: string, columns?: readonly string[]): Promise<Row | null>;
  count(table: TableName, where?: unknown): Promise<number>;
  /** Aggregates (by spec index) of the rows a select with `args` returns. */
  aggregate(table: TableName, args: SelectArgs, specs: readonly AggregateSpec[]): Promise<unknown[]>;
  /** Aggregates of a list relation's rows for many parents at once, by parent key (absent key: no rows). */
  aggregateRelation(table: TableName, relation: string, parentKeys: readonly unknown[], args: SelectArgs, specs: readonly AggregateSpec[]): Promise<Map<unknown, unknown[]>>;
  /**
   * The rows related to many parents at once (one query per call), grouped by the parent's
   * key: the value of the relation's `from` column. A list relation's `args` page each
   * parent's rows separately.
   */
  loadRelation(
    table: TableName,
    relation: string,
    parentKeys: readonly unknown[],
    args?: SelectArgs,
    columns?: readonly string[],
  ): Promise<Map<unknown, Row[]>>;
  /** How many rows of a list relation match `where`, for many parents in one query (absent key: 0). */
  countRelation(table: TableName, relation: string, parentKeys: readonly unknown[], where?: unknown): Promise<Map<unknown, number>>;
  /** Throws the Validation error a select with these `where`/`order_by` would, without running anything. */
  checkArgs(table: TableName, args: Pick<SelectArgs, "where" | "order_by" | "distinct_on">): void;
}

export type { AggregateSpec, ColumnType, Relation, Row, SelectArgs, TableDeclaration, TableName };
export { AGGREGATE_COLUMN_TYPES, isTableName };

/** Which `where` operators each column type accepts (the API's comparison inputs). */
export const COMPARISON_OPERATORS: Readonly<Record<ColumnType, readonly string[]>> = OPERATORS;

/** The declaration of every table the API exposes (columns, types, relations). */
export const TABLE_DECLARATIONS: Readonly<Record<TableName, TableDeclaration>> = TABLES;

export function createReadModel(query: ReadQueries): ReadModel {
  return {
    select: (table, args, columns) => query.select(table, args, columns),
    byPk: (table, id, columns) => query.byPk(table, id, columns),
    count: (table, where) => query.count(table, where),
    aggregate: (table, args, specs) => query.aggregate(table, args, specs),
    aggregateRelation: (table, relation, parentKeys, args, specs) => query.aggregateRelated(table, relation, parentKeys, args, specs),
    loadRelation: (table, relation, parentKeys, args, columns) => query.selectRelated(table, relation, parentKeys, args, columns),
    countRelation: (table, relation, parentKeys, where) => query.countRelated(table, relation, parentKeys, where),
    checkArgs: (table, args) => query.check(table, args),
  };
}
