import { PrefectliteError, type ErrorCode } from "../core/errors.ts";
import type { Services } from "../services/index.ts";
import type { ReadModel } from "../services/read-model.ts";

/** The backend's own services and read model, when it lives in this process (the embedded database). */
export interface DirectBackend {
  services: Services;
  reads: ReadModel;
}

/**
 * How another thread of this process reaches the same backend, to beat for a run while this
 * thread is busy (see src/backed/heartbeat-thread.ts): the server's GraphQL endpoint and the
 * headers to send, or the embedded database's file with its heartbeat and state statements.
 */
export type HeartbeatTarget =
  | { kind: "http"; endpoint: string; headers: Record<string, string> }
  | { kind: "sqlite"; path: string; sql: string; stateSql: string };

/** How a client reaches the backend: the same GraphQL operations in-process or over HTTP. */
export interface Transport {
  /** Run one operation; GraphQL errors become PrefectliteErrors with the server's code. */
  request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Where a person can see a run (for printed URLs). */
  readonly baseUrl: string | undefined;
  /** Free what the transport holds (the embedded database). */
  close(): Promise<void> | void;
  /** Set in-process: hot paths (a backed run's writes) may call the services without GraphQL. */
  readonly direct?: DirectBackend;
  /** Set when another thread can reach this backend (not for an in-memory database). */
  readonly heartbeatTarget?: HeartbeatTarget;
}

export interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

const CODES: Record<string, ErrorCode> = {
  NOT_FOUND: "NotFound",
  VALIDATION: "Validation",
  VERSION_CONFLICT: "VersionConflict",
  CONFLICT: "Conflict",
  UNAUTHENTICATED: "Usage",
  BAD_USER_INPUT: "Validation",
  GRAPHQL_VALIDATION_FAILED: "Validation",
  GRAPHQL_PARSE_FAILED: "Validation",
  FLOW_LOAD: "FlowLoad",
  UNAVAILABLE: "Unavailable",
  INTERNAL: "Internal",
};

/** The first GraphQL error as a PrefectliteError, keeping its code. */
export function errorFromGraphQL(errors: readonly GraphQLErrorShape[]): PrefectliteError {
  const first = errors[0]!;
  const code = CODES[first.extensions?.code ?? ""] ?? "Internal";
  return new PrefectliteError(code, first.message);
}
