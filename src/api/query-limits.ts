import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isAbstractType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  valueFromASTUntyped,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { isTableName, type ReadModel, type TableName } from "../services/read-model.ts";
import { jsonNestsDeeperThan } from "../services/validate.ts";
import { isPrefectliteError } from "../core/errors.ts";
import { settings } from "../settings.ts";
import { GRAPHQL_ERROR_CODES } from "./errors.ts";
import { TRAVERSAL_TYPE } from "./generate-types.ts";
import { RowBudget } from "./row-budget.ts";

/**
 * Bounds on one GraphQL request, checked before anything runs (README "Security"): the
 * document's nesting, size, depth, aliases and fields; then, with the variables, the limits
 * asked for, the rows the operation could return (list sizes multiply down the tree) and every
 * `where`/`order_by` (compiled, not run). A request past one gets a GraphQL error naming the
 * setting and how to stay inside it. The JSON fast path (execute.ts) and yoga (the plugin
 * below) run the same checks.
 */

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxFields: number;
  maxRows: number;
  defaultLimit: number;
  maxLimit: number;
  maxJsonDepth: number;
}

export function queryLimits(): QueryLimits {
  return {
    maxDepth: settings.maxQueryDepth(),
    maxAliases: settings.maxQueryAliases(),
    maxFields: settings.maxQueryFields(),
    maxRows: settings.maxQueryRows(),
    defaultLimit: settings.queryDefaultLimit(),
    maxLimit: settings.queryMaxLimit(),
    maxJsonDepth: settings.maxJsonDepth(),
  };
}

/** A refused request is a Validation error to clients; `extensions.limit` names the setting. */
const QUERY_LIMIT_CODE = GRAPHQL_ERROR_CODES.Validation;

function limitError(message: string, setting: string, max: number, nodes?: ASTNode | readonly ASTNode[]): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code: QUERY_LIMIT_CODE, limit: setting, max } });
}

// ---------------------------------------------------------------------------------------------
// Before parsing: bracket nesting (the parser recurses once per level).

/**
 * The deepest nesting of `{`, `[` and `(` in a document, outside strings and comments, or -1
 * as soon as it passes `max` (the parser is never given a document it could overflow on).
 */
function bracketDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x23 /* # */) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
    } else if (ch === 0x22 /* " */) {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        i = end < 0 ? text.length : end + 2;
      } else {
        for (i++; i < text.length && text.charCodeAt(i) !== 0x22 && text.charCodeAt(i) !== 0x0a; i++) if (text.charCodeAt(i) === 0x5c) i++;
      }
    } else if (ch === 0x7b || ch === 0x5b || ch === 0x28) {
      if (++depth > deepest && (deepest = depth) > max) return -1;
    } else if (ch === 0x7d || ch === 0x5d || ch === 0x29) {
      depth--;
    }
  }
  return deepest;
}

/** A document nested too deeply to parse safely, refused before parsing. */
export function checkQueryText(text: string, limits: QueryLimits = queryLimits()): GraphQLError | undefined {
  // Selections nest at most maxDepth; argument values (a `where`) at most maxJsonDepth, twice
  // over for the lists of _and/_or. The precise checks come after parsing.
  const max = limits.maxDepth + 2 * limits.maxJsonDepth + 8;
  if (bracketDepth(text, max) >= 0) return undefined;
  return limitError(
    `the query nests brackets more than ${max} levels deep: keep selections within ${limits.maxDepth} levels (PREFECTLITE_MAX_QUERY_DEPTH) ` +
      `and argument values within ${limits.maxJsonDepth} (PREFECTLITE_MAX_JSON_DEPTH)`,
    "PREFECTLITE_MAX_QUERY_DEPTH",
    limits.maxDepth,
  );
}

// ---------------------------------------------------------------------------------------------
// After parsing, before validation: depth, fields and aliases, through fragments.

const INTROSPECTION_ROOTS = new Set(["__schema", "__type"]);

interface Shape {
  depth: number;
  fields: number;
  aliases: number;
}

/**
 * Selection depth and the numbers of fields and aliases of every operation, fragments expanded
 * (each fragment measured once, so a fragment used many times costs nothing to measure).
 * Runs before graphql's validation, whose cost grows with the number of fields.
 */
export function checkDocumentShape(document: DocumentNode, limits: QueryLimits = queryLimits()): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const measured = new Map<string, Shape>();
  const measuring = new Set<string>();

  function measureSet(set: SelectionSetNode | undefined): Shape {
    const shape: Shape = { depth: 0, fields: 0, aliases: 0 };
    if (!set) return shape;
    for (const selection of set.selections) {
      let inner: Shape;
      if (selection.kind === Kind.FIELD) {
        const below = measureSet(selection.selectionSet);
        // Introspection's type references nest (ofType { ofType … }) past any sensible depth
        // for data; its lists count in the rows estimate instead, and its brackets before parsing.
        const depth = INTROSPECTION_ROOTS.has(selection.name.value) ? 1 : below.depth + 1;
        inner = { depth, fields: below.fields + 1, aliases: below.aliases + (selection.alias ? 1 : 0) };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = measureSet(selection.selectionSet);
      } else {
        inner = measureFragment(selection.name.value);
      }
      shape.depth = Math.max(shape.depth, inner.depth);
      shape.fields += inner.fields;
      shape.aliases += inner.aliases;
    }
    return shape;
  }

  function measureFragment(name: string): Shape {
    const known = measured.get(name);
    if (known) return known;
    const def = fragments.get(name);
    // Unknown fragments and cycles are validation's to report.
    if (!def || measuring.has(name)) return { depth: 0, fields: 0, aliases: 0 };
    measuring.add(name);
    const shape = measureSet(def.selectionSet);
    measuring.delete(name);
    measured.set(name, shape);
    return shape;
  }

  const errors: GraphQLError[] = [];
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const shape = measureSet(def.selectionSet);
    const name = def.name ? `operation '${def.name.value}'` : "the operation";
    if (shape.depth > limits.maxDepth) {
      errors.push(
        limitError(
          `${name} nests selections ${shape.depth} levels deep, more than ${limits.maxDepth} (PREFECTLITE_MAX_QUERY_DEPTH): ` +
            "query the nested rows separately (by their ids) instead of through more relations",
          "PREFECTLITE_MAX_QUERY_DEPTH",
          limits.maxDepth,
          def,
        ),
      );
    }
    if (shape.fields > limits.maxFields) {
      errors.push(
        limitError(
          `${name} selects ${shape.fields} fields (fragments expanded), more than ${limits.maxFields} (PREFECTLITE_MAX_QUERY_FIELDS): select fewer fields or split the query`,
          "PREFECTLITE_MAX_QUERY_FIELDS",
          limits.maxFields,
          def,
        ),
      );
    }
    if (shape.aliases > limits.maxAliases) {
      errors.push(
        limitError(
          `${name} has ${shape.aliases} aliases (fragments expanded), more than ${limits.maxAliases} (PREFECTLITE_MAX_QUERY_ALIASES): split it into several requests`,
          "PREFECTLITE_MAX_QUERY_ALIASES",
          limits.maxAliases,
          def,
        ),
      );
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Before execution, with the variables: limits, the rows estimate, where/order_by.

/**
 * Sizes of the introspection lists in a schema: the most one of them holds (`max`) and how many
 * there are in all (`total`), so that `__schema { types { fields { args } } }` counts the schema's
 * fields and args, not types × the widest type × the most args.
 */
interface IntrospectionSizes {
  [field: string]: { max: number; total: number };
}

const introspectionSizes = new WeakMap<GraphQLSchema, IntrospectionSizes>();

function sizesOf(schema: GraphQLSchema): IntrospectionSizes {
  const known = introspectionSizes.get(schema);
  if (known) return known;
  const types = Object.values(schema.getTypeMap());
  const size = () => ({ max: 0, total: 0 });
  const add = (s: { max: number; total: number }, n: number) => ((s.max = Math.max(s.max, n)), (s.total += n));
  const fields = size();
  const args = size();
  const inputFields = size();
  const enumValues = size();
  const interfaces = size();
  const possibleTypes = size();
  const directiveArgs = size();
  for (const type of types) {
    if (isAbstractType(type)) add(possibleTypes, schema.getPossibleTypes(type).length);
    if (isObjectType(type) || isInterfaceType(type)) {
      const defs = Object.values(type.getFields());
      add(fields, defs.length);
      for (const f of defs) add(args, f.args.length);
      add(interfaces, type.getInterfaces().length);
    } else if (isInputObjectType(type)) {
      add(inputFields, Object.keys(type.getFields()).length);
    } else if ("getValues" in type) {
      add(enumValues, type.getValues().length);
    }
  }
  for (const d of schema.getDirectives()) add(directiveArgs, d.args.length);
  const all = (n: number) => ({ max: n, total: n });
  const sizes: IntrospectionSizes = {
    "__Schema.types": all(types.length),
    "__Schema.directives": all(schema.getDirectives().length),
    "__Type.fields": fields,
    "__Type.inputFields": inputFields,
    "__Type.enumValues": enumValues,
    "__Type.interfaces": interfaces,
    "__Type.possibleTypes": possibleTypes,
    "__Field.args": args,
    "__Directive.args": directiveArgs,
  };
  introspectionSizes.set(schema, sizes);
  return sizes;
}

interface Walk {
  schema: GraphQLSchema;
  variables: Record<string, unknown>;
  fragments: Map<string, FragmentDefinitionNode>;
  limits: QueryLimits;
  reads: Pick<ReadModel, "checkArgs"> | undefined;
  rows: number;
  /** The rows of introspection lists among them: those are not counted as they run, so they are bounded here. */
  introspectionRows: number;
  /** The field path with the most rows, for the message. */
  widest: { path: string; rows: number };
  errors: GraphQLError[];
}

function argument(node: FieldNode, name: string, variables: Record<string, unknown>): unknown {
  const arg = node.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  return arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : valueFromASTUntyped(arg.value, variables);
}

/** The table a field reads: its rows' type, or the table of its `<table>_aggregate` type. */
function tableOf(named: GraphQLNamedType): { table: TableName; aggregate: boolean } | undefined {
  if (isTableName(named.name)) return { table: named.name, aggregate: false };
  const m = /^(.+)_aggregate$/.exec(named.name);
  return m && isTableName(m[1]!) ? { table: m[1] as TableName, aggregate: true } : undefined;
}

/**
 * The most rows a `where` can match when it pins the primary key: `id: { _eq: x }` one,
 * `id: { _in: [...] }` as many as listed (also inside `_and`); otherwise unbounded. Prefect's
 * client and UI read one run as `flow_run(where: { id: { _eq: $id } }) { states … }`.
 */
function pinnedRows(where: unknown): number {
  if (typeof where !== "object" || where === null || Array.isArray(where)) return Infinity;
  const exp = where as Record<string, unknown>;
  let most = Infinity;
  const id = exp.id as Record<string, unknown> | null | undefined;
  if (typeof id === "object" && id !== null) {
    if (id._eq !== null && id._eq !== undefined) most = 1;
    else if (Array.isArray(id._in)) most = id._in.length;
  }
  const and = Array.isArray(exp._and) ? exp._and : exp._and !== undefined && exp._and !== null ? [exp._and] : [];
  for (const item of and) most = Math.min(most, pinnedRows(item));
  return most;
}

function fieldDefinition(schema: GraphQLSchema, parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === "__schema" && parent === schema.getQueryType()) return SchemaMetaFieldDef;
  if (name === "__type" && parent === schema.getQueryType()) return TypeMetaFieldDef;
  if (!isObjectType(parent) && !isInterfaceType(parent)) return undefined;
  return parent.getFields()[name];
}

const formatRows = (n: number) => (Number.isFinite(n) && n < 1e15 ? Math.round(n).toLocaleString("en-US") : "more than 10^15");

/**
 * `distinct`: the parent rows are distinct introspection objects (each type, field… at most once),
 * so a list under them holds at most every such item of the schema.
 */
function walkField(w: Walk, node: FieldNode, parent: GraphQLNamedType, parentRows: number, parentPath: string, distinct: boolean): void {
  const name = node.name.value;
  if (name === "__typename") return;
  const def = fieldDefinition(w.schema, parent, name);
  if (!def) return; // validation reports it
  const path = parentPath ? `${parentPath}.${name}` : name;
  const named = getNamedType(def.type);
  const isList = isListType(getNullableType(def.type));
  let rows = parentRows;
  const read = tableOf(named);
  const traversal = named.name === TRAVERSAL_TYPE;
  if (read || traversal) {
    if (isList && (traversal || !read!.aggregate)) {
      const limit = argument(node, "limit", w.variables);
      if (typeof limit === "number" && Number.isSafeInteger(limit) && limit > w.limits.maxLimit) {
        w.errors.push(
          limitError(
            `${path}: limit ${limit} is more than ${w.limits.maxLimit} (PREFECTLITE_QUERY_MAX_LIMIT): page with limit and offset`,
            "PREFECTLITE_QUERY_MAX_LIMIT",
            w.limits.maxLimit,
            node,
          ),
        );
      }
      const n = typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 0 ? limit : w.limits.defaultLimit;
      rows = parentRows * Math.min(n, pinnedRows(argument(node, "where", w.variables)));
    }
    w.rows += rows;
    if (rows > w.widest.rows) w.widest = { path, rows };
    if (w.reads && read) {
      const where = argument(node, "where", w.variables);
      const orderBy = argument(node, "order_by", w.variables);
      const distinctOn = argument(node, "distinct_on", w.variables);
      if (where != null || orderBy != null || distinctOn != null) {
        try {
          w.reads.checkArgs(read.table, { where, order_by: orderBy, distinct_on: distinctOn });
        } catch (e) {
          if (!isPrefectliteError(e)) throw e;
          w.errors.push(new GraphQLError(`${path}: ${e.message}`, { nodes: node, extensions: { code: GRAPHQL_ERROR_CODES[e.code] } }));
        }
      }
    }
  } else if (isList && parent.name.startsWith("__")) {
    const size = sizesOf(w.schema)[`${parent.name}.${name}`] ?? { max: 1, total: 1 };
    rows = distinct ? Math.min(parentRows * size.max, size.total) : parentRows * size.max;
    w.rows += rows;
    w.introspectionRows += rows;
    if (rows > w.widest.rows) w.widest = { path, rows };
  }
  // The items of a list under distinct parents are distinct; one root object's are too; an
  // object field (`type`, `ofType`) may be the same object for many parents.
  const childrenDistinct = isList ? distinct : INTROSPECTION_ROOTS.has(name) && parentPath === "";
  if (node.selectionSet) walkSet(w, node.selectionSet, named, rows, path, new Set(), childrenDistinct);
}

function walkSet(w: Walk, set: SelectionSetNode, parent: GraphQLNamedType, rows: number, path: string, spreading: Set<string>, distinct = false): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) walkField(w, selection, parent, rows, path, distinct);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? (w.schema.getType(selection.typeCondition.name.value) ?? parent) : parent;
      walkSet(w, selection.selectionSet, type, rows, path, spreading, distinct);
    } else {
      const fragment = w.fragments.get(selection.name.value);
      if (!fragment || spreading.has(fragment.name.value)) continue;
      spreading.add(fragment.name.value);
      walkSet(w, fragment.selectionSet, w.schema.getType(fragment.typeCondition.name.value) ?? parent, rows, path, spreading, distinct);
      spreading.delete(fragment.name.value);
    }
  }
}

/** What the checks that need the variables found: errors refuse the operation; a budget bounds its rows as it runs. */
export interface OperationCheck {
  errors: GraphQLError[];
  /** Set when the estimate passed PREFECTLITE_MAX_QUERY_ROWS: the operation runs under this bound instead. */
  rowBudget?: RowBudget;
}

/**
 * The checks that need the variables, for the operation that is to run: how deeply the
 * variables nest, the limits asked for, the rows the operation could return, and every
 * `where`/`order_by` compiled (by `reads`, without running it). An operation whose estimate
 * passes the rows bound is not refused here: lists without a limit count their default per
 * parent, which Prefect's own documents multiply far past what real flows hold, so it runs
 * under a RowBudget that refuses it once it returns more rows than the bound.
 */
export function checkOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  reads: Pick<ReadModel, "checkArgs"> | undefined,
  limits: QueryLimits = queryLimits(),
): OperationCheck {
  const vars = variables ?? {};
  if (jsonNestsDeeperThan(vars, limits.maxJsonDepth + 1)) {
    return {
      errors: [
        limitError(
          `the variables nest deeper than ${limits.maxJsonDepth} levels (PREFECTLITE_MAX_JSON_DEPTH): flatten the values`,
          "PREFECTLITE_MAX_JSON_DEPTH",
          limits.maxJsonDepth,
        ),
      ],
    };
  }
  const root = operation.operation === "query" ? schema.getQueryType() : operation.operation === "mutation" ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return { errors: [] };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const w: Walk = { schema, variables: vars, fragments, limits, reads, rows: 0, introspectionRows: 0, widest: { path: "", rows: 0 }, errors: [] };
  walkSet(w, operation.selectionSet, root, 1, "", new Set());
  if (w.errors.length || w.rows <= limits.maxRows) return { errors: w.errors };
  const estimate = `${formatRows(w.rows)} rows (${formatRows(w.widest.rows)} of them at ${w.widest.path})`;
  if (w.introspectionRows > limits.maxRows) {
    const message =
      `this query could return up to ${estimate}, more than ${limits.maxRows.toLocaleString("en-US")} (PREFECTLITE_MAX_QUERY_ROWS): ` +
      `the limits of nested lists multiply (a list without a limit counts ${limits.defaultLimit}), so give the lists small limit arguments or query the nested rows separately`;
    return { errors: [limitError(message, "PREFECTLITE_MAX_QUERY_ROWS", limits.maxRows, operation)] };
  }
  return { errors: [], rowBudget: new RowBudget(limits.maxRows, estimate) };
}
