import type { FieldNode, GraphQLFieldResolver } from "graphql";
import { TABLE_DECLARATIONS, type Relation, type Row, type SelectArgs, type TableName } from "../services/read-model.ts";
import type { ApiContext } from "./context.ts";
import { tableNames } from "./generate-types.ts";
import { selectedColumns } from "./selection.ts";

/**
 * Resolvers of the query side. Relations load in batches: the rows one query returned are
 * siblings, and the first time a relation field is resolved for one of them it is loaded for
 * all of them in one query (per field of the document), so `flow_run { task_runs { task } }`
 * costs three queries however many runs and task runs there are. Everything is synchronous.
 */

const SIBLINGS = Symbol("siblings");

interface Siblings {
  rows: Row[];
  /** Relation rows loaded for these siblings, per field node, grouped by the parent's key. */
  loaded: Map<FieldNode, Map<unknown, Row[]>>;
}

type BatchedRow = Row & { [SIBLINGS]?: Siblings };

function siblings(rows: Row[]): Row[] {
  const group: Siblings = { rows, loaded: new Map() };
  for (const row of rows) (row as BatchedRow)[SIBLINGS] = group;
  return rows;
}

type Resolver = GraphQLFieldResolver<unknown, ApiContext, any>;

function relationResolver(table: TableName, name: string, relation: Relation): Resolver {
  const target = relation.table as TableName;
  return (parent, args: SelectArgs, context, info) => {
    const row = parent as BatchedRow;
    const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
    const node = info.fieldNodes[0]!;
    let loaded = group.loaded.get(node);
    if (!loaded) {
      const keys = group.rows.map((r) => r[relation.from]);
      loaded = context.reads.loadRelation(table, name, keys, args, selectedColumns(target, info));
      const children: Row[] = [];
      for (const rows of loaded.values()) children.push(...rows);
      siblings(children);
      group.loaded.set(node, loaded);
    }
    const related = loaded.get(row[relation.from]) ?? [];
    return relation.kind === "array" ? related : (related[0] ?? null);
  };
}

export interface ApiInfo {
  backend: string;
  mode: string;
  version: string;
}

/** Root query fields and relation fields for every declared table. */
export function createQueryResolvers(apiInfo: ApiInfo): Record<string, Record<string, Resolver>> {
  const query: Record<string, Resolver> = {
    hello: () => "👋",
    api: () => apiInfo,
  };
  const types: Record<string, Record<string, Resolver>> = {};
  for (const table of tableNames()) {
    query[table] = (_root, args: SelectArgs, context, info) =>
      siblings(context.reads.select(table, args, selectedColumns(table, info)));
    query[`${table}_by_pk`] = (_root, args: { id: string }, context, info) => {
      const row = context.reads.byPk(table, args.id, selectedColumns(table, info));
      return row ? siblings([row])[0] : null;
    };
    query[`${table}_aggregate`] = (_root, args: { where?: unknown }, context) => ({
      aggregate: { count: () => context.reads.count(table, args.where) },
    });
    const fields: Record<string, Resolver> = {};
    for (const [name, relation] of Object.entries(TABLE_DECLARATIONS[table].relations)) {
      fields[name] = relationResolver(table, name, relation);
    }
    if (Object.keys(fields).length) types[table] = fields;
  }
  return { Query: query, ...types };
}
