import { executeGraphQL } from "../api/execute.ts";
import { errorFromGraphQL, type DirectBackend, type HeartbeatTarget, type Transport } from "../client/transport.ts";
import { FLOW_RUN_HEARTBEAT_SQL, FLOW_RUN_STATE_SQL } from "../storage/sqlite/flow-runs.ts";
import { settings } from "../settings.ts";
import { openBackend, type Backend } from "./backend.ts";

/** The client's in-process transport: the same GraphQL operations, straight on the embedded database. */
export class EmbeddedTransport implements Transport {
  readonly baseUrl = undefined;
  readonly direct: DirectBackend;
  readonly heartbeatTarget: HeartbeatTarget | undefined;
  constructor(
    private readonly backend: Backend,
    private readonly ownsBackend: boolean,
  ) {
    const { services, reads } = backend.context();
    this.direct = { services, reads };
    this.heartbeatTarget =
      backend.path === undefined || backend.path === ":memory:"
        ? undefined
        : { kind: "sqlite", path: backend.path, sql: FLOW_RUN_HEARTBEAT_SQL, stateSql: FLOW_RUN_STATE_SQL };
  }

  static async open(databaseUrl = settings.databaseUrl()): Promise<EmbeddedTransport> {
    return new EmbeddedTransport(await openBackend(databaseUrl), true);
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await executeGraphQL(this.backend.schema, query, variables, this.backend.context());
    if (result.errors?.length) throw errorFromGraphQL(result.errors as never);
    return result.data as T;
  }

  async close(): Promise<void> {
    if (this.ownsBackend) await this.backend.close();
  }
}
