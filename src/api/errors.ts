import { GraphQLError } from "graphql";
import { isPrefectliteError, type ErrorCode } from "../core/errors.ts";

/** Each PrefectliteError code as the GraphQL `extensions.code` clients read. */
export const GRAPHQL_ERROR_CODES: Record<ErrorCode, string> = {
  Usage: "BAD_USER_INPUT",
  Validation: "VALIDATION",
  NotFound: "NOT_FOUND",
  Conflict: "CONFLICT",
  VersionConflict: "VERSION_CONFLICT",
  FlowLoad: "FLOW_LOAD",
  Unavailable: "UNAVAILABLE",
  Internal: "INTERNAL",
};

export const INTERNAL_ERROR_MESSAGE = "Internal error: the server could not complete this request (its log has the details)";

export type ErrorLogger = (error: unknown) => void;

const logToStderr: ErrorLogger = (error) => {
  console.error("prefectlite: unexpected error in a GraphQL request:", error instanceof Error ? (error.stack ?? error.message) : error);
};

/** The innermost error a GraphQLError wraps (a resolver's throw), or undefined for client errors. */
function cause(error: GraphQLError): unknown {
  let current: unknown = error;
  while (current instanceof GraphQLError) {
    if (current.originalError === undefined || current.originalError === null) return undefined;
    current = current.originalError;
  }
  return current;
}

/**
 * The error a client sees, decided in one place: a PrefectliteError keeps its message and gets
 * its code; errors in the request itself (syntax, validation, variables) pass with
 * `fallbackCode` when they carry none; anything unexpected becomes a generic INTERNAL error
 * (and its stack goes to the server's log).
 */
export function toPublicError(error: unknown, fallbackCode = "GRAPHQL_VALIDATION_FAILED", log: ErrorLogger = logToStderr): GraphQLError {
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  const original = graphqlError ? cause(graphqlError) : error;
  const options = graphqlError
    ? { nodes: graphqlError.nodes, source: graphqlError.source, positions: graphqlError.positions, path: graphqlError.path }
    : {};
  const extensions = { ...graphqlError?.extensions };
  if (isPrefectliteError(original)) {
    return new GraphQLError(original.message, { ...options, extensions: { ...extensions, code: GRAPHQL_ERROR_CODES[original.code] } });
  }
  if (graphqlError && original === undefined) {
    if (typeof extensions.code === "string") return graphqlError;
    return new GraphQLError(graphqlError.message, { ...options, extensions: { ...extensions, code: fallbackCode } });
  }
  log(original);
  return new GraphQLError(INTERNAL_ERROR_MESSAGE, { ...options, extensions: { code: "INTERNAL", ...(extensions.http ? { http: extensions.http } : {}) } });
}

/** An operation of Prefect's API that prefectlite does not have: a GraphQL error naming it and why. */
export function notSupportedError(operation: string, why: string): GraphQLError {
  return new GraphQLError(`${operation} is not supported: ${why}`, { extensions: { code: "NOT_SUPPORTED" } });
}

/**
 * A name that must be unique and is taken, as Hasura said it in front of Prefect Server: the
 * message is exactly "Uniqueness violation." (Prefect's client and UI compare it), the detail
 * says which name.
 */
export function uniquenessViolationError(detail: string): GraphQLError {
  return new GraphQLError("Uniqueness violation.", { extensions: { code: "CONFLICT", detail } });
}
