import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeGraphQL } from "../../src/api/execute.ts";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { buildApiSchema } from "../../src/api/schema.ts";
import { BackendClient } from "../../src/client/client.ts";
import { errorFromGraphQL, type GraphQLErrorShape, type Transport } from "../../src/client/transport.ts";
import { createServices } from "../../src/services/index.ts";
import { createReadModel } from "../../src/services/read-model.ts";
import { openDatabase, type Database } from "../../src/storage/db.ts";

/**
 * A BackendClient over the real schema and services on a fresh database, in-process (the
 * runtime's embedded transport does the same; swap to it once it exists).
 */
export function openClient(): { client: BackendClient; db: Database } {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "prefectlite-watch-db-")), "prefectlite.db"));
  const services = createServices(db);
  const context = { services, reads: createReadModel(db), agentId: undefined };
  const schema = buildApiSchema({ mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } });
  const transport: Transport = {
    baseUrl: undefined,
    async request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
      const result = await executeGraphQL(schema, query, variables, context);
      if (result.errors?.length) throw errorFromGraphQL(result.errors.map((e) => e.toJSON() as GraphQLErrorShape));
      return result.data as T;
    },
    close: () => db.close(),
  };
  return { client: new BackendClient(transport), db };
}
