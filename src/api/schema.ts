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

/** The SDL and resolvers of the API's schema (see {@link buildApiSchema}). */
export function apiSchemaDefinition(options: ApiSchemaOptions = {}): { typeDefs: string[]; resolvers: object[] } {
  const queries = createQueryResolvers({ backend: "SERVER", mode: "normal", version: options.version ?? "0.1.0" });
  const typeDefs = [scalarTypeDefs, generateQueryTypeDefs()];
  const resolvers: object[] = [scalarResolvers, queries];
  if (options.mutations) {
    typeDefs.push(options.mutations.typeDefs);
    resolvers.push(options.mutations.resolvers);
  }
  return { typeDefs, resolvers };
}

/**
 * The executable schema of SPEC §4: the query side generated from the table declaration, the
 * scalars `JSON`, `uuid` and `timestamptz`, and the mutations when given.
 *
 * Built without what costs most and checks only our own SDL (test/api/schema-build.test.ts
 * checks it, and that the schema is the one a fully checked build gives): the SDL's validation
 * and the schema's, source locations in its AST, and a copy of the whole schema made just to
 * attach the resolvers (they are attached in place). Less than half the CPU (~100 → ~45 ms
 * compiled), which every process that runs a GraphQL document pays once.
 */
export function buildApiSchema(options: ApiSchemaOptions = {}): GraphQLSchema {
  const { typeDefs, resolvers } = apiSchemaDefinition(options);
  return createSchema<ApiContext>({ typeDefs, resolvers: resolvers as any, ...UNCHECKED_BUILD });
}

/** makeExecutableSchema's options past its typed ones go to the SDL's parser and buildASTSchema. */
const UNCHECKED_BUILD = { updateResolversInPlace: true, noLocation: true, assumeValidSDL: true, assumeValid: true } as const;
