import type { FieldNode, GraphQLFieldResolver } from "graphql";
import { TABLE_DECLARATIONS, type Relation, type Row, type SelectArgs, type TableName } from "../services/read-model.ts";
import { validationError } from "../core/errors.ts";
import { settings } from "../settings.ts";
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
  /** Relation rows (or counts) loaded for these siblings, per field node, by the parent's key. */
  loaded: Map<FieldNode, Promise<Map<unknown, unknown>>>;
}

type BatchedRow = Row & { [SIBLINGS]?: Siblings };

function siblings(rows: Row[]): Row[] {
  const group: Siblings = { rows, loaded: new Map() };
  for (const row of rows) (row as BatchedRow)[SIBLINGS] = group;
  return rows;
}

type Resolver = GraphQLFieldResolver<unknown, ApiContext, any>;

/**
 * A list's arguments with its limit bounded: absent, the default (PREFECTLITE_QUERY_DEFAULT_LIMIT);
 * above the maximum, refused (query-limits.ts refuses it before execution; this keeps every
 * path to a list bounded).
 */
function bounded(args: SelectArgs): SelectArgs {
  if (args.limit === undefined || args.limit === null) return { ...args, limit: settings.queryDefaultLimit() };
  const max = settings.queryMaxLimit();
  if (typeof args.limit === "number" && args.limit > max) {
    throw validationError(`limit ${args.limit} is more than ${max} (PREFECTLITE_QUERY_MAX_LIMIT): page with limit and offset`);
  }
  return args;
}

function relationResolver(table: TableName, name: string, relation: Relation): Resolver {
  const target = relation.table as TableName;
  return (parent, args: SelectArgs, context, info) => {
    const row = parent as BatchedRow;
    const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
    const node = info.fieldNodes[0]!;
    // One load (one promise) per relation field for all the siblings; each resolves from it.
    let loaded = group.loaded.get(node) as Promise<Map<unknown, Row[]>> | undefined;
    if (!loaded) {
      const keys = group.rows.map((r) => r[relation.from]);
      const listArgs = relation.kind === "array" ? bounded(args) : args;
      loaded = context.reads.loadRelation(table, name, keys, listArgs, selectedColumns(target, info)).then((byKey) => {
        const children: Row[] = [];
        for (const rows of byKey.values()) children.push(...rows);
        siblings(children);
        return byKey;
      });
      group.loaded.set(node, loaded);
    }
    return loaded.then((byKey) => {
      const related = byKey.get(row[relation.from]) ?? [];
      return relation.kind === "array" ? related : (related[0] ?? null);
    });
  };
}

/** `<relation>_aggregate(where) { aggregate { count } }` of a list relation, counted for all siblings at once. */
function relationCountResolver(table: TableName, name: string, relation: Relation): Resolver {
  return (parent, args: { where?: unknown }, context, info) => {
    const row = parent as BatchedRow;
    const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
    const node = info.fieldNodes[0]!;
    let counts = group.loaded.get(node) as Promise<Map<unknown, number>> | undefined;
    if (!counts) {
      counts = context.reads.countRelation(table, name, group.rows.map((r) => r[relation.from]), args.where);
      group.loaded.set(node, counts);
    }
    return counts.then((byKey) => ({ aggregate: { count: byKey.get(row[relation.from]) ?? 0 } }));
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
    query[table] = async (_root, args: SelectArgs, context, info) =>
      siblings(await context.reads.select(table, bounded(args), selectedColumns(table, info)));
    query[`${table}_by_pk`] = async (_root, args: { id: string }, context, info) => {
      const row = await context.reads.byPk(table, args.id, selectedColumns(table, info));
      return row ? siblings([row])[0] : null;
    };
    query[`${table}_aggregate`] = (_root, args: { where?: unknown }, context) => ({
      aggregate: { count: () => context.reads.count(table, args.where) },
    });
    const fields: Record<string, Resolver> = {};
    for (const [name, relation] of Object.entries(TABLE_DECLARATIONS[table].relations)) {
      fields[name] = relationResolver(table, name, relation);
      if (relation.kind === "array") fields[`${name}_aggregate`] = relationCountResolver(table, name, relation);
    }
    if (Object.keys(fields).length) types[table] = fields;
  }
  return { Query: query, ...types };
}
