import { execute, getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from "graphql";
import type { ApiContext } from "./context.ts";
import { toPublicError } from "./errors.ts";
import { checkDocumentShape, checkOperation, checkQueryText } from "./query-limits.ts";

/**
 * Run one operation in-process (the embedded client), with the same rules as over HTTP:
 * documents parsed and validated once per schema and text, errors as the public ones.
 */
export async function executeGraphQL(
  schema: GraphQLSchema,
  query: string,
  variables: Record<string, unknown> | undefined,
  context: ApiContext,
  operationName?: string,
): Promise<ExecutionResult> {
  const document = prepare(schema, query);
  if (!("kind" in document)) return { errors: document.errors };
  const operation = getOperationAST(document, operationName);
  let contextValue = context;
  if (operation) {
    const check = checkOperation(schema, document, operation, variables, context.reads);
    if (check.errors.length) return { errors: check.errors.map((e) => toPublicError(e, "BAD_USER_INPUT")) };
    if (check.rowBudget) contextValue = { ...context, rowBudget: check.rowBudget };
  }
  const budget = contextValue.rowBudget;
  const execution = async () => {
    const done = await execute({ schema, document, variableValues: variables ?? {}, contextValue, operationName });
    // Past the rows bound the operation answers its one refusal, no data.
    return budget?.refusal ? { data: null, errors: [budget.refusal] } : done;
  };
  const mutation = context.writes && operation?.operation === "mutation";
  let result: ExecutionResult;
  try {
    result = await (mutation ? context.writes!.run(async () => allOrNothing(await execution())) : execution());
  } catch (e) {
    // A mutation document with an error: everything it wrote is rolled back, and it says so.
    if (e instanceof RolledBack) return { data: null, errors: e.errors.map((err) => toPublicError(err, "BAD_USER_INPUT")) };
    // The group's transaction failed (the database busy, the server shutting down): every
    // mutation in it gets the error, as a GraphQL error like any other.
    return { errors: [toPublicError(e, "INTERNAL")] };
  }
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((e) => toPublicError(e, "BAD_USER_INPUT")) };
}

/** Thrown inside a mutation's transaction so that it rolls back: one of its fields failed. */
class RolledBack extends Error {
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors[0]?.message ?? "rolled back");
  }
}

/**
 * A mutation document is one transaction (as Hasura, under Prefect Server, runs one): when any
 * of its fields fails, the writes of the others are rolled back too.
 */
function allOrNothing(result: ExecutionResult): ExecutionResult {
  if (result.errors?.length) throw new RolledBack(result.errors);
  return result;
}

const CACHE_SIZE = 1000;
const caches = new WeakMap<GraphQLSchema, Map<string, DocumentNode | { errors: GraphQLError[] }>>();

/** The parsed and validated document (or its errors), from a per-schema LRU cache. */
function prepare(schema: GraphQLSchema, query: string): DocumentNode | { errors: GraphQLError[] } {
  let cache = caches.get(schema);
  if (!cache) caches.set(schema, (cache = new Map()));
  const hit = cache.get(query);
  if (hit) {
    cache.delete(query);
    cache.set(query, hit);
    return hit;
  }
  let prepared: DocumentNode | { errors: GraphQLError[] };
  if (typeof query !== "string" || query.trim() === "") {
    prepared = { errors: [toPublicError(new GraphQLError("Must provide a query string."), "GRAPHQL_PARSE_FAILED")] };
  } else {
    try {
      const tooDeep = checkQueryText(query);
      const document = tooDeep ? undefined : parse(query);
      // The bounds on the document's shape first: validation's cost grows with its size.
      const refused = tooDeep ? [tooDeep] : checkDocumentShape(document!);
      const errors = refused.length ? refused : validate(schema, document!);
      prepared = errors.length ? { errors: errors.map((e) => toPublicError(e, "GRAPHQL_VALIDATION_FAILED")) } : document!;
    } catch (e) {
      prepared = { errors: [toPublicError(e, "GRAPHQL_PARSE_FAILED")] };
    }
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(query, prepared);
  return prepared;
}
