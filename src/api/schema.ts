import type { GraphQLSchema } from "graphql";
import { createSchema } from "graphql-yoga";
import type { ApiContext } from "./context.ts";
import { generateQueryTypeDefs } from "./generate-types.ts";
import { createQueryResolvers } from "./query-resolvers.ts";
import { scalarResolvers, scalarTypeDefs } from "./scalars.ts";

export interface ApiSchemaOptions {
  /** The mutation side (src/api/mutations.ts): its SDL (`type Mutation …`) and resolvers. */
  mutations?: { typeDefs: string; resolvers: object };
  /** Reported by `api { version }`. */
  version?: string;
}

/**
 * The executable schema of SPEC §4: the query side generated from the table declaration, the
 * scalars `JSON`, `uuid` and `timestamptz`, and the mutations when given.
 */
export function buildApiSchema(options: ApiSchemaOptions = {}): GraphQLSchema {
  const queries = createQueryResolvers({ backend: "SERVER", mode: "normal", version: options.version ?? "0.1.0" });
  const typeDefs = [scalarTypeDefs, generateQueryTypeDefs()];
  const resolvers: object[] = [scalarResolvers, queries];
  if (options.mutations) {
    typeDefs.push(options.mutations.typeDefs);
    resolvers.push(options.mutations.resolvers);
  }
  return createSchema<ApiContext>({ typeDefs, resolvers: resolvers as any });
}
