import type { GraphQLSchema } from "graphql";
import type { ApiContext } from "../api/context.ts";
import { createReadModel } from "../services/read-model.ts";
import { createServices, type Services } from "../services/index.ts";
import { openStorage, type OpenStorageOptions, type Storage } from "../storage/open.ts";
import { settings, sqlitePathOf } from "../settings.ts";

/** The backend in this process: storage, services and the GraphQL schema over them. */
export interface Backend {
  readonly storage: Storage;
  /** The database URL it was opened with (may carry a password: never print it; print storage.description). */
  readonly url: string;
  /** The SQLite database file (":memory:" for an in-memory one); undefined for PostgreSQL. */
  readonly path: string | undefined;
  readonly services: Services;
  /**
   * The API's executable schema, built on first call: a process that runs no GraphQL document
   * (a flow run's child, `run --execute`'s parent) then never loads GraphQL nor spends the
   * ~40 ms of CPU building it.
   */
  schema(): Promise<GraphQLSchema>;
  /** `signal`: the request's (a long poll stops waiting when its client goes away). */
  context(agentId?: string, signal?: AbortSignal): ApiContext;
  close(): Promise<void>;
}

/** Open the database at `url` (default PREFECTLITE_DATABASE_URL) with services and the schema over it. */
export async function openBackend(url: string = settings.databaseUrl(), options: OpenStorageOptions = {}): Promise<Backend> {
  const storage = await openStorage(url, options);
  const { store } = storage;
  const services = createServices(store, { maxScheduledRuns: settings.schedulerMaxRuns() });
  const reads = createReadModel(storage.query);
  let schema: Promise<GraphQLSchema> | undefined;
  // A mutation document is one store transaction (inside a caller's transaction, a savepoint).
  const writes = { run: <T>(fn: () => Promise<T>) => store.transaction(fn) };
  return {
    storage,
    url,
    path: storage.dialect === "sqlite" ? sqlitePathOf(url) : undefined,
    services,
    schema: () => (schema ??= buildSchema()),
    context: (agentId, signal) => ({ services, reads, agentId, writes, signal }),
    close: () => storage.close(),
  };
}

async function buildSchema(): Promise<GraphQLSchema> {
  const [{ buildApiSchema }, { mutationResolvers, mutationTypeDefs }] = await Promise.all([import("../api/schema.ts"), import("../api/mutations.ts")]);
  return buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
}
