import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from "graphql";

/** The scalars of the API (Hasura's names): `JSON` (any JSON value), `uuid`, `timestamptz`. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseUuid(value: unknown): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new GraphQLError(`invalid uuid: ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

function parseTimestamp(value: unknown): string {
  const date = typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError(`invalid timestamp (expected ISO-8601): ${JSON.stringify(value)}`);
  return date.toISOString();
}

function stringLiteral(ast: ValueNode, type: string): string {
  if (ast.kind !== Kind.STRING) throw new GraphQLError(`${type} must be a string`);
  return ast.value;
}

export const uuidScalar = new GraphQLScalarType({
  name: "uuid",
  description: "A UUID, as text.",
  serialize: (value) => value,
  parseValue: parseUuid,
  parseLiteral: (ast) => parseUuid(stringLiteral(ast, "uuid")),
});

export const timestamptzScalar = new GraphQLScalarType({
  name: "timestamptz",
  description: "A point in time: ISO-8601 text, answered in UTC with milliseconds.",
  serialize: (value) => value,
  parseValue: parseTimestamp,
  parseLiteral: (ast) => parseTimestamp(stringLiteral(ast, "timestamptz")),
});

export const jsonScalar = new GraphQLScalarType({
  name: "JSON",
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

export const scalarTypeDefs = /* GraphQL */ `
scalar JSON
scalar uuid
scalar timestamptz
`;

export const scalarResolvers = { JSON: jsonScalar, uuid: uuidScalar, timestamptz: timestamptzScalar };
