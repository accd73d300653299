import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from "graphql";
import { isUuid } from "../core/uuid.ts";

/**
 * The scalars of the API: Hasura's `JSON` (any JSON value), `uuid` and `timestamptz` on the query
 * side, and their twins `UUID` and `DateTime` as Prefect Server's own GraphQL service declares them
 * on its mutations' inputs (one parse each: a `$id: UUID!` variable and a `$id: uuid!` one read alike).
 */


function parseUuid(value: unknown): string {
  if (!isUuid(value)) throw new GraphQLError(`invalid uuid: ${JSON.stringify(value)}`);
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

export const upperUuidScalar = new GraphQLScalarType({
  name: "UUID",
  description: "A UUID, as text (Prefect Server's name for uuid).",
  serialize: (value) => value,
  parseValue: parseUuid,
  parseLiteral: (ast) => parseUuid(stringLiteral(ast, "UUID")),
});

export const dateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  description: "A point in time: ISO-8601 text (Prefect Server's name for timestamptz).",
  serialize: (value) => value,
  parseValue: parseTimestamp,
  parseLiteral: (ast) => parseTimestamp(stringLiteral(ast, "DateTime")),
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
scalar UUID
scalar DateTime
`;

export const scalarResolvers = {
  JSON: jsonScalar,
  uuid: uuidScalar,
  timestamptz: timestamptzScalar,
  UUID: upperUuidScalar,
  DateTime: dateTimeScalar,
};
