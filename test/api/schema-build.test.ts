/** The API's schema is built unchecked for speed (api/schema.ts): it must be the schema a fully checked build gives. */
import { describe, expect, test } from "bun:test";
import { getIntrospectionQuery, graphql, printSchema, validateSchema } from "graphql";
import { createSchema } from "graphql-yoga";
import { mutationResolvers, mutationTypeDefs } from "../../src/api/mutations.ts";
import { apiSchemaDefinition, buildApiSchema } from "../../src/api/schema.ts";

describe("buildApiSchema()", () => {
  const options = { mutations: { typeDefs: mutationTypeDefs, resolvers: mutationResolvers } };

  test("gives the schema of a checked build: valid SDL and schema, the same types, fields, descriptions and introspection", async () => {
    const { typeDefs, resolvers } = apiSchemaDefinition(options);
    // makeExecutableSchema's defaults: the SDL validated, the schema validated, resolvers on a copy.
    const checked = createSchema({ typeDefs, resolvers: resolvers as any });
    expect(validateSchema(checked).map(String)).toEqual([]);
    const fast = buildApiSchema(options);
    expect(printSchema(fast)).toBe(printSchema(checked));
    const introspect = async (schema: typeof fast) => JSON.stringify(await graphql({ schema, source: getIntrospectionQuery({ descriptions: true }) }));
    expect(await introspect(fast)).toBe(await introspect(checked));
  });

  test("attaches every resolver of the checked build, scalars' parsing and serializing too", () => {
    const { typeDefs, resolvers } = apiSchemaDefinition(options);
    const checked = createSchema({ typeDefs, resolvers: resolvers as any });
    const fast = buildApiSchema(options);
    for (const [name, type] of Object.entries(checked.getTypeMap())) {
      if (name.startsWith("__")) continue;
      const mine = fast.getType(name)!;
      if ("getFields" in type && "getFields" in mine) {
        const fields = mine.getFields() as Record<string, { resolve?: unknown }>;
        for (const [field, def] of Object.entries(type.getFields() as Record<string, { resolve?: unknown }>)) {
          expect({ field: `${name}.${field}`, resolved: typeof fields[field]!.resolve }).toEqual({ field: `${name}.${field}`, resolved: typeof def.resolve });
        }
      }
      if ("parseValue" in type && "parseValue" in mine && !["String", "Int", "Float", "Boolean", "ID"].includes(name)) {
        expect({ name, same: mine.parseValue === type.parseValue && mine.serialize === type.serialize && mine.parseLiteral === type.parseLiteral }).toEqual({ name, same: true });
      }
    }
  });
});
