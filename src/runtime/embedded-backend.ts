import type { Backend } from "../client/backend.ts";
import { watchFromThread } from "../client/heartbeat-thread.ts";
import { errorFromGraphQL, type GraphQLErrorShape } from "../client/http-backend.ts";
import { ServicesBackend } from "../client/services-backend.ts";
import { workerModuleUrl } from "../client/worker-module.ts";
import { settings } from "../settings.ts";
import { openBackend, type Backend as EmbeddedDatabase } from "./backend.ts";

export interface EmbeddedBackendOptions {
  /**
   * The server on this database (serve), for the processes this one starts: they then talk to it
   * over HTTP instead of each opening the database. Default: PREFECTLITE_HOME (the embedded
   * database itself).
   */
  server?: { url: string; token?: string };
  /** PREFECTLITE_HOME of the database, for those processes (default settings.home()). */
  home?: string;
  /** Close the database with the backend (when this backend opened it). */
  owns?: boolean;
}

/** The heartbeat thread's module for the database. */
export const STORE_HEARTBEAT_WORKER = workerModuleUrl("runtime/heartbeat-worker.ts");

/** The in-process Backend on an open embedded database: its services, read model and (built when a document first runs) schema. */
export function embeddedBackend(database: EmbeddedDatabase, options: EmbeddedBackendOptions = {}): Backend {
  const context = database.context();
  const home = options.home ?? settings.home();
  return new ServicesBackend({
    services: context.services,
    reads: context.reads,
    async graphql<T>(document: string, variables: Record<string, unknown>): Promise<T> {
      const [{ executeGraphQL }, schema] = await Promise.all([import("../api/execute.ts"), database.schema()]);
      const result = await executeGraphQL(schema, document, variables, database.context());
      if (result.errors?.length) throw errorFromGraphQL(result.errors as unknown as GraphQLErrorShape[]);
      return result.data as T;
    },
    // PREFECTLITE_HOME also says where results go.
    location: { home, databaseUrl: database.url, apiUrl: options.server?.url, token: options.server?.token },
    // Another thread reaches the database through a store of its own: not an in-memory one.
    watchFromThread:
      database.path === ":memory:" ? undefined : (flowRunId, watch) => watchFromThread({ kind: "store", url: database.url, worker: STORE_HEARTBEAT_WORKER }, flowRunId, watch),
    close: options.owns ? () => database.close() : undefined,
  });
}

/** Open the database at `url` (default PREFECTLITE_DATABASE_URL) as a Backend that closes it. */
export async function openEmbeddedBackend(url = settings.databaseUrl()): Promise<Backend> {
  return embeddedBackend(await openBackend(url), { owns: true });
}
