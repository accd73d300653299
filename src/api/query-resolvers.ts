import {
  getArgumentValues,
  GraphQLError,
  GraphQLScalarType,
  Kind,
  valueFromASTUntyped,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from "graphql";
import { TABLE_DECLARATIONS, type AggregateSpec, type Relation, type Row, type SelectArgs, type TableName } from "../services/read-model.ts";
import { validationError } from "../core/errors.ts";
import { DEFAULT_TENANT } from "../core/tenant.ts";
import { isUuid } from "../core/uuid.ts";
import { settings } from "../settings.ts";
import type { ApiContext } from "./context.ts";
import { tableNames, TRAVERSAL_TYPE } from "./generate-types.ts";
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

/** The field's path in the answer, for a refusal's message. */
function pathOf(info: GraphQLResolveInfo): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let p: GraphQLResolveInfo["path"] | undefined = info.path; p; p = p.prev) keys.unshift(p.key);
  return keys;
}

function relationResolver(table: TableName, name: string, relation: Relation): Resolver {
  const target = relation.table as TableName;
  return (parent, args: SelectArgs, context, info) => {
    const row = parent as BatchedRow;
    const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
    const node = info.fieldNodes[0]!;
    // One load (one promise) per relation field for all the siblings; each resolves from it.
    let loaded = group.loaded.get(node) as Promise<Map<unknown, Row[]>> | undefined;
    const budget = relation.kind === "array" ? context.rowBudget : undefined;
    if (!loaded) {
      const keys = group.rows.map((r) => r[relation.from]);
      let listArgs = relation.kind === "array" ? bounded(args) : args;
      // Under a row budget one read of all the siblings' rows asks for no more than are left.
      if (budget) listArgs = { ...listArgs, cap: budget.readCap() };
      loaded = context.reads.loadRelation(table, name, keys, listArgs, selectedColumns(target, info)).then((byKey) => {
        const children: Row[] = [];
        for (const rows of byKey.values()) children.push(...rows);
        budget?.checkRead(children.length, pathOf(info));
        siblings(children);
        return byKey;
      });
      group.loaded.set(node, loaded);
    }
    return loaded.then((byKey) => {
      const related = byKey.get(row[relation.from]) ?? [];
      if (relation.kind !== "array") return related[0] ?? null;
      budget?.spend(related.length, pathOf(info));
      return related;
    });
  };
}

// ---------------------------------------------------------------------------------------------
// aggregates

const AGGREGATE_FUNCTIONS = ["max", "min", "sum", "avg"] as const;
type ColumnFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** The aggregates one `<table>_aggregate` field asks for, and how their values make its answer. */
interface AggregatePlan {
  specs: AggregateSpec[];
  answer(values: readonly unknown[]): { aggregate: Record<string, unknown> };
}

function forEachField(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, visit: (node: FieldNode) => void, seen = new Set<string>()): void {
  if (!set) return;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) visit(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) forEachField(selection.selectionSet, info, visit, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      forEachField(info.fragments[selection.name.value]?.selectionSet, info, visit, seen);
    }
  }
}

const plans = new WeakMap<FieldNode, AggregatePlan>();

/**
 * The aggregates under `aggregate { count(…) max { col } … }` of the field, each once. The plan
 * is kept per field node when its arguments use no variables.
 */
function planAggregate(table: TableName, info: GraphQLResolveInfo): AggregatePlan {
  const node = info.fieldNodes[0]!;
  const known = info.fieldNodes.length === 1 ? plans.get(node) : undefined;
  if (known) return known;
  const specs: AggregateSpec[] = [];
  const index = new Map<string, number>();
  const add = (spec: AggregateSpec) => {
    const key = JSON.stringify(spec);
    let i = index.get(key);
    if (i === undefined) index.set(key, (i = specs.push(spec) - 1));
    return i;
  };
  const counts: Array<[string, number]> = [];
  const columns: Record<ColumnFunction, Array<[string, number]>> = { max: [], min: [], sum: [], avg: [] };
  const countField = (info.schema.getType(`${table}_aggregate_fields`) as GraphQLObjectType).getFields().count!;
  let usesVariables = false;
  for (const fieldNode of info.fieldNodes) {
    forEachField(fieldNode.selectionSet, info, (aggregate) => {
      if (aggregate.name.value !== "aggregate") return;
      forEachField(aggregate.selectionSet, info, (field) => {
        const name = field.name.value;
        if (name === "count") {
          if (field.arguments?.some((a) => a.value.kind === Kind.VARIABLE || JSON.stringify(a.value).includes('"Variable"'))) usesVariables = true;
          const args = getArgumentValues(countField, field, info.variableValues) as { columns?: string[] | null; distinct?: boolean | null };
          counts.push([field.alias?.value ?? name, add({ fn: "count", columns: args.columns ?? undefined, distinct: args.distinct === true })]);
        } else if ((AGGREGATE_FUNCTIONS as readonly string[]).includes(name)) {
          const fn = name as ColumnFunction;
          forEachField(field.selectionSet, info, (column) => {
            if (column.name.value !== "__typename") columns[fn].push([column.name.value, add({ fn, column: column.name.value })]);
          });
        }
      });
    });
  }
  const plan: AggregatePlan = {
    specs,
    answer(values) {
      const aggregate: Record<string, unknown> = {};
      for (const [key, i] of counts) aggregate[key] = values[i];
      for (const fn of AGGREGATE_FUNCTIONS) {
        if (columns[fn].length) aggregate[fn] = Object.fromEntries(columns[fn].map(([column, i]) => [column, values[i]]));
      }
      return { aggregate };
    },
  };
  if (info.fieldNodes.length === 1 && !usesVariables) plans.set(node, plan);
  return plan;
}

/**
 * An aggregate's arguments: no default limit (an aggregate answers one row, and a limit only
 * narrows the rows it reads), so every matching row counts as in Hasura.
 */
const aggregateArgs = (args: SelectArgs): SelectArgs => args;

/** `<relation>_aggregate(…) { aggregate { … } }` of a list relation, for all siblings in one query. */
function relationAggregateResolver(table: TableName, name: string, relation: Relation): Resolver {
  const target = relation.table as TableName;
  return (parent, args: SelectArgs, context, info) => {
    const row = parent as BatchedRow;
    const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
    const node = info.fieldNodes[0]!;
    const plan = planAggregate(target, info);
    let loaded = group.loaded.get(node) as Promise<Map<unknown, unknown[]>> | undefined;
    if (!loaded) {
      loaded = context.reads.aggregateRelation(table, name, group.rows.map((r) => r[relation.from]), aggregateArgs(args), plan.specs);
      group.loaded.set(node, loaded);
    }
    return loaded.then((byKey) => plan.answer(byKey.get(row[relation.from]) ?? plan.specs.map((s) => (s.fn === "count" ? 0 : null))));
  };
}

// ---------------------------------------------------------------------------------------------
// Hasura's scalars

const anyJson = (name: string, description: string) =>
  new GraphQLScalarType({
    name,
    description,
    serialize: (value) => value,
    parseValue: (value) => value,
    parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
  });

function integerScalar(name: string, min: number, max: number): GraphQLScalarType {
  const parse = (value: unknown) => {
    const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) throw new GraphQLError(`invalid ${name}: ${JSON.stringify(value)}`);
    return n;
  };
  return new GraphQLScalarType({
    name,
    serialize: (value) => value,
    parseValue: parse,
    parseLiteral: (ast) => parse(ast.kind === Kind.INT || ast.kind === Kind.STRING ? ast.value : undefined),
  });
}

function numberScalar(name: string): GraphQLScalarType {
  const parse = (value: unknown) => {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n)) throw new GraphQLError(`invalid ${name}: ${JSON.stringify(value)}`);
    return n;
  };
  return new GraphQLScalarType({
    name,
    serialize: (value) => value,
    parseValue: parse,
    parseLiteral: (ast) => parse(ast.kind === Kind.INT || ast.kind === Kind.FLOAT || ast.kind === Kind.STRING ? ast.value : undefined),
  });
}

/** An interval as given (text or seconds); the column's comparison reads it (storage/query-where.ts). */
const intervalScalar = new GraphQLScalarType({
  name: "interval",
  description: "A duration: PostgreSQL's interval text (\"00:01:30\", \"1 day\"), ISO-8601 (\"PT90S\") or seconds.",
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== "string" && typeof value !== "number") throw new GraphQLError(`invalid interval: ${JSON.stringify(value)}`);
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING) return ast.value;
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
    throw new GraphQLError("interval must be a string or a number of seconds");
  },
});

const HASURA_SCALAR_RESOLVERS = {
  jsonb: anyJson("jsonb", "Any JSON value (Hasura's name for a jsonb column's values)."),
  interval: intervalScalar,
  bigint: integerScalar("bigint", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  smallint: integerScalar("smallint", -32768, 32767),
  numeric: numberScalar("numeric"),
  float8: numberScalar("float8"),
};

// ---------------------------------------------------------------------------------------------
// Prefect Server's own queries beside the tables

/** Prefect Server's traversal functions stop at depth 50. */
const MAX_TRAVERSAL_DEPTH = 50;

/** `_uuid`: Postgres's array text "{a,b}" (as Prefect's UI sends it) or a JSON list. */
function parseUuidArray(value: unknown): string[] {
  const items =
    typeof value === "string"
      ? value.trim().replace(/^\{|\}$/g, "").split(",").map((s) => s.trim().replace(/^"|"$/g, "")).filter((s) => s !== "")
      : value;
  if (!Array.isArray(items) || items.some((v) => typeof v !== "string" || !isUuid(v))) {
    throw new GraphQLError(`invalid _uuid (expected "{uuid,uuid}" or a list of UUIDs): ${JSON.stringify(value)}`);
  }
  const max = settings.queryMaxLimit();
  if (items.length > max) throw new GraphQLError(`_uuid: more than ${max} ids (PREFECTLITE_QUERY_MAX_LIMIT)`);
  return items.map((v: string) => v.toLowerCase());
}

const uuidArrayScalar = new GraphQLScalarType({
  name: "_uuid",
  serialize: (value) => value,
  parseValue: parseUuidArray,
  parseLiteral: (ast, variables) => parseUuidArray(valueFromASTUntyped(ast, variables)),
});

/**
 * The tasks reached from the start tasks through edges (downstream or upstream), each at the
 * deepest level it was reached, as Prefect Server's utility.downstream_tasks/upstream_tasks:
 * one read of the edges per level, at most 50 levels.
 */
function traversalResolver(direction: "downstream" | "upstream"): Resolver {
  const [from, to] = direction === "downstream" ? ["upstream_task_id", "downstream_task_id"] : ["downstream_task_id", "upstream_task_id"];
  return async (_root, args: { args: { start_task_ids?: string[] | null; depth_limit?: number | null }; limit?: number | null; offset?: number | null }, context, info) => {
    const depthLimit = Math.min(args.args.depth_limit ?? MAX_TRAVERSAL_DEPTH, MAX_TRAVERSAL_DEPTH);
    if (!Number.isSafeInteger(depthLimit) || depthLimit < 0) throw validationError(`args.depth_limit: expected a non-negative integer, got ${args.args.depth_limit}`);
    const start = args.args.start_task_ids ?? [];
    const deepest = new Map<string, number>();
    let level = start.length
      ? (await context.reads.select("task", { where: { id: { _in: start } } }, ["id"])).map((t) => t.id as string)
      : [];
    for (let depth = 0; level.length && depth <= depthLimit; depth++) {
      for (const id of level) deepest.set(id, depth);
      if (depth === depthLimit) break;
      const edges = await context.reads.select("edge", { where: { [from]: { _in: level } } }, [to]);
      level = [...new Set(edges.map((e) => e[to] as string))];
    }
    const rows = [...deepest]
      .map(([task_id, depth]) => ({ tenant_id: DEFAULT_TENANT.id, task_id, depth }))
      .sort((a, b) => a.depth - b.depth || (a.task_id < b.task_id ? -1 : a.task_id > b.task_id ? 1 : 0));
    const { limit, offset } = bounded({ limit: args.limit, offset: args.offset });
    const page = rows.slice((offset as number | null | undefined) ?? 0).slice(0, limit as number);
    context.rowBudget?.spend(page.length, pathOf(info));
    return siblings(page);
  };
}

/** A traversal row's task, loaded for all its siblings at once. */
const traversalTask: Resolver = (parent, _args, context, info) => {
  const row = parent as BatchedRow;
  const group = row[SIBLINGS] ?? { rows: [row], loaded: new Map() };
  const node = info.fieldNodes[0]!;
  let loaded = group.loaded.get(node) as Promise<Map<unknown, Row[]>> | undefined;
  if (!loaded) {
    const ids = [...new Set(group.rows.map((r) => r.task_id as string))];
    loaded = context.reads.select("task", { where: { id: { _in: ids } }, limit: ids.length }, selectedColumns("task", info)).then((tasks) => {
      siblings(tasks);
      return new Map(tasks.map((t) => [t.id, [t]]));
    });
    group.loaded.set(node, loaded);
  }
  return loaded.then((byId) => byId.get(row.task_id)?.[0] ?? null);
};

export interface ApiInfo {
  backend: string;
  mode: string;
  version: string;
  /** The Prefect Core version whose API this speaks (Prefect Server answered its own Core's). */
  core_version?: string | null;
  release_timestamp?: string | null;
}

/** The Prefect Core release whose client, agent and UI this API serves. */
export const PREFECT_CORE_API_VERSION = "1.4.1";

/** Root query fields and relation fields for every declared table. */
export function createQueryResolvers(apiInfo: ApiInfo): Record<string, Record<string, Resolver> | GraphQLScalarType> {
  const query: Record<string, Resolver> = {
    hello: () => "👋",
    api: () => ({ core_version: PREFECT_CORE_API_VERSION, release_timestamp: null, ...apiInfo }),
    utility_downstream_tasks: traversalResolver("downstream"),
    utility_upstream_tasks: traversalResolver("upstream"),
  };
  const types: Record<string, Record<string, Resolver>> = {};
  for (const table of tableNames()) {
    query[table] = async (_root, args: SelectArgs, context, info) => {
      const budget = context.rowBudget;
      let listArgs = bounded(args);
      if (budget && typeof listArgs.limit === "number") listArgs = { ...listArgs, limit: Math.min(listArgs.limit, budget.readCap()) };
      const rows = await context.reads.select(table, listArgs, selectedColumns(table, info));
      budget?.spend(rows.length, pathOf(info));
      return siblings(rows);
    };
    query[`${table}_by_pk`] = async (_root, args: { id: string }, context, info) => {
      const row = await context.reads.byPk(table, args.id, selectedColumns(table, info));
      return row ? siblings([row])[0] : null;
    };
    query[`${table}_aggregate`] = async (_root, args: SelectArgs, context, info) => {
      const plan = planAggregate(table, info);
      return plan.answer(await context.reads.aggregate(table, aggregateArgs(args), plan.specs));
    };
    // count's answer is under its response key (two counts may be aliased apart).
    types[`${table}_aggregate_fields`] = { count: (parent, _args, _context, info) => (parent as Record<string, unknown>)[info.path.key as string] };
    const fields: Record<string, Resolver> = {};
    for (const [name, relation] of Object.entries(TABLE_DECLARATIONS[table].relations)) {
      fields[name] = relationResolver(table, name, relation);
      if (relation.kind === "array") fields[`${name}_aggregate`] = relationAggregateResolver(table, name, relation);
    }
    if (Object.keys(fields).length) types[table] = fields;
  }
  return { ...HASURA_SCALAR_RESOLVERS, _uuid: uuidArrayScalar, Query: query, [TRAVERSAL_TYPE]: { task: traversalTask }, ...types };
}
