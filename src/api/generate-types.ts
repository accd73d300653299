import { AGGREGATE_COLUMN_TYPES, COMPARISON_OPERATORS, TABLE_DECLARATIONS, type ColumnType, type TableName } from "../services/read-model.ts";

/**
 * The query side's SDL, generated from the table declaration with Hasura's conventions: an
 * object type per table (relations included), `<table>_bool_exp`, `<table>_order_by`, one
 * comparison input per scalar, and the root fields `<table>`, `<table>_by_pk`,
 * `<table>_aggregate`.
 */

/** The GraphQL type of a column, as Hasura declared Prefect Server's (json columns are `jsonb`). */
const GRAPHQL_TYPE: Record<ColumnType, string> = {
  uuid: "uuid",
  string: "String",
  int: "Int",
  boolean: "Boolean",
  timestamp: "timestamptz",
  json: "jsonb",
  interval: "interval",
};

const COMPARISON_INPUT: Record<ColumnType, string> = {
  uuid: "uuid_comparison_exp",
  string: "String_comparison_exp",
  int: "Int_comparison_exp",
  boolean: "Boolean_comparison_exp",
  timestamp: "timestamptz_comparison_exp",
  json: "jsonb_comparison_exp",
  interval: "interval_comparison_exp",
};

/** The scalars Hasura declared beside GraphQL's own (resolvers in query-resolvers.ts). */
export const HASURA_SCALARS = ["jsonb", "interval", "bigint", "smallint", "numeric", "float8"] as const;

/** Which aggregate fields take columns of which types (storage's rule), and the type each answers. */
const AGGREGATE_FIELDS = {
  max: (type: ColumnType) => GRAPHQL_TYPE[type],
  min: (type: ColumnType) => GRAPHQL_TYPE[type],
  sum: (type: ColumnType) => GRAPHQL_TYPE[type],
  avg: (type: ColumnType) => (type === "interval" ? "interval" : "Float"),
} as const;

export const ORDER_DIRECTIONS = ["asc", "asc_nulls_first", "asc_nulls_last", "desc", "desc_nulls_first", "desc_nulls_last"] as const;

export const tableNames = (): TableName[] => Object.keys(TABLE_DECLARATIONS) as TableName[];

function visibleColumns(table: TableName): Array<[string, ColumnType]> {
  const decl = TABLE_DECLARATIONS[table];
  return Object.entries(decl.columns).filter(([name]) => !decl.hidden?.includes(name));
}

function operatorType(type: ColumnType, op: string): string {
  const scalar = GRAPHQL_TYPE[type];
  if (op === "_is_null") return "Boolean";
  if (op === "_in" || op === "_nin") return `[${scalar}!]`;
  if (op === "_has_key") return "String";
  if (op === "_has_keys_any" || op === "_has_keys_all") return "[String!]";
  if (op.endsWith("like")) return "String";
  return scalar;
}

function comparisonInputs(): string {
  return (Object.keys(COMPARISON_INPUT) as ColumnType[])
    .map((type) => {
      const fields = COMPARISON_OPERATORS[type].map((op) => `  ${op}: ${operatorType(type, op)}`);
      return `"""Conditions on a ${GRAPHQL_TYPE[type]} column; all given must hold."""\ninput ${COMPARISON_INPUT[type]} {\n${fields.join("\n")}\n}`;
    })
    .join("\n\n");
}

const listArgs = (table: string) =>
  `distinct_on: [${table}_select_column!], where: ${table}_bool_exp, order_by: [${table}_order_by!], limit: Int, offset: Int`;

function objectType(table: TableName): string {
  const fields = visibleColumns(table).map(([name, type]) => `  ${name}: ${GRAPHQL_TYPE[type]}${name === "id" ? "!" : ""}`);
  for (const [name, rel] of Object.entries(TABLE_DECLARATIONS[table].relations)) {
    if (rel.kind === "object") fields.push(`  ${name}: ${rel.table}`);
    else fields.push(`  ${name}(${listArgs(rel.table)}): [${rel.table}!]!`, `  ${name}_aggregate(${listArgs(rel.table)}): ${rel.table}_aggregate!`);
  }
  return `type ${table} {\n${fields.join("\n")}\n}`;
}

function boolExp(table: TableName): string {
  const fields = [`  _and: [${table}_bool_exp!]`, `  _or: [${table}_bool_exp!]`, `  _not: ${table}_bool_exp`];
  for (const [name, type] of visibleColumns(table)) fields.push(`  ${name}: ${COMPARISON_INPUT[type]}`);
  for (const [name, rel] of Object.entries(TABLE_DECLARATIONS[table].relations)) fields.push(`  ${name}: ${rel.table}_bool_exp`);
  return `"""Which ${table} rows: all given conditions must hold (a list relation: some related row matches)."""\ninput ${table}_bool_exp {\n${fields.join("\n")}\n}`;
}

function orderBy(table: TableName): string {
  const fields = visibleColumns(table).map(([name]) => `  ${name}: order_by`);
  for (const [name, rel] of Object.entries(TABLE_DECLARATIONS[table].relations)) {
    if (rel.kind === "object") fields.push(`  ${name}: ${rel.table}_order_by`);
  }
  return `"""Ordering of ${table} rows; give a list to order by several keys in turn."""\ninput ${table}_order_by {\n${fields.join("\n")}\n}`;
}

function selectColumn(table: TableName): string {
  return `"""The columns of ${table} (distinct_on, count's columns)."""\nenum ${table}_select_column {\n${visibleColumns(table).map(([name]) => `  ${name}`).join("\n")}\n}`;
}

function aggregateTypes(table: TableName): string {
  const fields = [`  count(columns: [${table}_select_column!], distinct: Boolean): Int!`];
  const types: string[] = [];
  for (const [fn, typeOf] of Object.entries(AGGREGATE_FIELDS) as Array<[keyof typeof AGGREGATE_FIELDS, (t: ColumnType) => string]>) {
    const columns = visibleColumns(table).filter(([, type]) => AGGREGATE_COLUMN_TYPES[fn].includes(type));
    if (columns.length === 0) continue;
    fields.push(`  ${fn}: ${table}_${fn}_fields`);
    types.push(`type ${table}_${fn}_fields {\n${columns.map(([name, type]) => `  ${name}: ${typeOf(type)}`).join("\n")}\n}`);
  }
  return [`type ${table}_aggregate {\n  aggregate: ${table}_aggregate_fields\n}`, `type ${table}_aggregate_fields {\n${fields.join("\n")}\n}`, ...types].join("\n");
}

function rootFields(table: TableName): string {
  return [
    `  ${table}(${listArgs(table)}): [${table}!]!`,
    `  ${table}_by_pk(id: uuid!): ${table}`,
    `  ${table}_aggregate(${listArgs(table)}): ${table}_aggregate!`,
  ].join("\n");
}

/** The list types of Prefect Server's traversal functions (counted as lists by query-limits.ts). */
export const TRAVERSAL_TYPE = "utility_traversal";

/** Prefect Server's tracked traversal functions beside Hasura's tables (mapped_children is in mutation-sdl.ts, beside get_task_run_info). */
const SERVER_QUERY_TYPES = `"""A Postgres array of UUIDs as text ("{id,id}"), or a JSON list of them: Hasura's name for uuid[]."""
scalar _uuid

input utility_tasks_args {
  start_task_ids: _uuid
  """At most 50 (Prefect Server's bound), the default."""
  depth_limit: Int
}

"""A task reached from the start tasks, at the deepest level it was reached."""
type ${TRAVERSAL_TYPE} {
  tenant_id: uuid
  task_id: uuid
  depth: Int
  task: task
}`;

const SERVER_QUERY_FIELDS = [
  `  """The tasks downstream of the start tasks (them included, depth 0), by depth then id."""`,
  `  utility_downstream_tasks(args: utility_tasks_args!, limit: Int, offset: Int): [${TRAVERSAL_TYPE}!]!`,
  `  """The tasks upstream of the start tasks (them included, depth 0), by depth then id."""`,
  `  utility_upstream_tasks(args: utility_tasks_args!, limit: Int, offset: Int): [${TRAVERSAL_TYPE}!]!`,
].join("\n");

/** The whole query side (scalars excluded), one string of SDL. */
export function generateQueryTypeDefs(): string {
  const tables = tableNames();
  return [
    `"""Sort direction; nulls come last ascending and first descending unless the name says otherwise."""\nenum order_by {\n${ORDER_DIRECTIONS.map((d) => `  ${d}`).join("\n")}\n}`,
    comparisonInputs(),
    HASURA_SCALARS.map((name) => `scalar ${name}`).join("\n"),
    ...tables.flatMap((t) => [objectType(t), boolExp(t), orderBy(t), selectColumn(t), aggregateTypes(t)]),
    `type api_info {\n  backend: String!\n  mode: String!\n  version: String!\n  core_version: String\n  release_timestamp: String\n}`,
    SERVER_QUERY_TYPES,
    `type Query {\n  hello: String!\n  api: api_info!\n${tables.map(rootFields).join("\n")}\n${SERVER_QUERY_FIELDS}\n}`,
  ].join("\n\n");
}
