import { mutationResolvers, mutationTypeDefs } from "../api/mutations.ts";
import { buildApiSchema } from "../api/schema.ts";
import type { ApiContext } from "../api/context.ts";
import { createReadModel } from "../services/read-model.ts";
import { createServices, type Services } from "../services/index.ts";
import { startBackgroundCheckpoints } from "../storage/checkpoints.ts";
import { openDatabase, type Database } from "../storage/db.ts";
import { settings } from "../settings.ts";

/** The backend in this process: database, services and the GraphQL schema over them. */
export interface Backend {
  readonly db: Database;
  /** The database file (":memory:" for an in-memory one). */
  readonly path: string;
  readonly services: Services;
  readonly schema: ReturnType<typeof buildApiSchema>;
  context(agentId?: string): ApiContext;
  close(): void;
}

export function openBackend(databasePath: string): Backend {
  const db = openDatabase(databasePath);
  const checkpoints = databasePath === ":memory:" ? undefined : startBackgroundCheckpoints(db, databasePath);
  const services = createServices(db, { maxScheduledRuns: settings.schedulerMaxRuns() });
  const reads = createReadModel(db);
  const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
  return {
    db,
    path: databasePath,
    services,
    schema,
    // In-process, a mutation document is one transaction (IMMEDIATE: it takes the write lock before
    // reading, as every service's does; inside a caller's transaction, a savepoint).
    context: (agentId) => ({ services, reads, agentId, writes: { run: async (fn) => (db.inTransaction ? db.transaction(fn)() : db.transaction(fn).immediate()) } }),
    close: () => {
      checkpoints?.stop();
      db.close();
    },
  };
}
