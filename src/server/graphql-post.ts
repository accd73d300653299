import type { GraphQLSchema } from "graphql";
import type { Context } from "hono";
import { executeGraphQL } from "../api/execute.ts";
import type { ApiContext } from "../api/context.ts";

/**
 * The common request, `POST /graphql` with one JSON operation, answered without yoga's
 * request pipeline: measured on Bun, yoga spends ~140 µs per request around an execution
 * that takes ~5 µs (a trivial query: ~7k/s through yoga, ~140k/s through this path
 * in-process). Same parse/validation cache, same error mapping as the in-process client.
 * Anything else (GET, other content types or Accept headers, batches) goes to yoga.
 */
export function isPlainJsonPost(request: Request): boolean {
  if (request.method !== "POST") return false;
  const type = request.headers.get("content-type");
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) return false;
  const accept = request.headers.get("accept");
  return !accept || !/graphql-response\+json|text\/event-stream|multipart\/mixed/i.test(accept);
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function badRequest(message: string): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code: "BAD_REQUEST" } }] }), { status: 400, headers: JSON_HEADERS });
}

export async function handleJsonPost(c: Context, schema: GraphQLSchema, context: ApiContext): Promise<Response> {
  let body: unknown;
  try {
    body = await c.req.raw.json();
  } catch {
    return badRequest("the request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return badRequest("the request body must be one JSON object: { query, variables?, operationName? }");
  }
  const { query, operationName } = body as Record<string, unknown>;
  if (typeof query !== "string" || query.trim() === "") return badRequest("the request has no query: send { \"query\": \"…\" }");
  const variables = variablesOf((body as Record<string, unknown>).variables);
  if (variables === INVALID) return badRequest("variables must be a JSON object, or a string holding one (\"null\" for none)");
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    return badRequest("operationName must be a string");
  }
  const result = await executeGraphQL(
    schema,
    query,
    variables,
    context,
    (operationName ?? undefined) as string | undefined,
  );
  return new Response(JSON.stringify(result), { status: 200, headers: JSON_HEADERS });
}

const INVALID = Symbol("invalid variables");

/**
 * The request's variables: an object, or — as Prefect 1's client sends them, and Apollo Server in
 * front of Prefect Server accepted — a JSON string holding one (`"null"` when there are none).
 */
function variablesOf(raw: unknown): Record<string, unknown> | undefined | typeof INVALID {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = value.trim() === "" ? null : JSON.parse(value);
    } catch {
      return INVALID;
    }
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : INVALID;
}
