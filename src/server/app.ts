import type { GraphQLSchema } from "graphql";
import { createYoga } from "graphql-yoga";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiContext } from "../api/context.ts";
import { INTERNAL_ERROR_MESSAGE, toPublicError } from "../api/errors.ts";
import { queryLimitsPlugin } from "../api/query-limits.ts";
import { mountUi } from "../ui/routes.tsx";
import { handleJsonPost, isPlainJsonPost } from "./graphql-post.ts";

/** Request bodies above this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const AGENT_ID_HEADER = "x-prefect-agent-id";

/** What the server knows of a request when it builds the GraphQL context. */
export interface RequestInfo {
  /** The `X-Prefect-Agent-Id` header, if sent. */
  agentId: string | undefined;
  request: Request;
}

export type ContextFactory = (info: RequestInfo) => ApiContext;

export interface AppOptions {
  schema: GraphQLSchema;
  contextFactory: ContextFactory;
  /** When set, every route but /health needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  maxBodyBytes?: number;
}

const jsonError = (c: Context, status: 401 | 404 | 413 | 500, message: string, code: string) =>
  c.json({ errors: [{ message, extensions: { code } }] }, status);

/**
 * The HTTP face of the backend: `POST/GET /graphql` (a plain JSON POST on a fast path, see
 * graphql-post.ts; everything else through graphql-yoga), `GET /health` (always open: it says nothing but "ok"), the optional
 * bearer token and the body limit, and the web UI at `/` (src/ui: its pages take the token from
 * the login cookie or the bearer header; /graphql keeps the bearer header only).
 */
export function createApp(options: AppOptions): Hono {
  const { schema, contextFactory } = options;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const yoga = createYoga<{ request: Request }, ApiContext>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: false,
    landingPage: false,
    // Browsers on other origins get no CORS grant: a page cannot drive a local server.
    cors: false,
    logging: false,
    maskedErrors: { maskError: (error) => toPublicError(error, "GRAPHQL_VALIDATION_FAILED") },
    plugins: [queryLimitsPlugin()],
    context: ({ request }) => contextFactory({ agentId: request.headers.get(AGENT_ID_HEADER) ?? undefined, request }),
  });

  const app = new Hono();
  app.get("/health", (c) => c.json({ status: "ok" }));
  // Before the bearer check: UI routes check the token themselves (cookie or header).
  mountUi(app, {
    token: options.token,
    deps: (request) => {
      const { reads, services } = contextFactory({ agentId: undefined, request });
      return { reads, services };
    },
  });
  if (options.token) app.use("*", requireToken(options.token));
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) => jsonError(c, 413, `request body too large: the limit is ${formatBytes(maxBodyBytes)}`, "PAYLOAD_TOO_LARGE"),
  });
  app.on(["GET", "POST"], "/graphql", limit, (c) => {
    const request = c.req.raw;
    if (!isPlainJsonPost(request)) return yoga.fetch(request);
    const agentId = request.headers.get(AGENT_ID_HEADER) ?? undefined;
    return handleJsonPost(c, schema, contextFactory({ agentId, request }));
  });
  app.notFound((c) => jsonError(c, 404, `no route ${c.req.method} ${new URL(c.req.url).pathname}`, "NOT_FOUND"));
  app.onError((error, c) => {
    console.error("prefectlite: unexpected error in an HTTP request:", error.stack ?? error.message);
    return jsonError(c, 500, INTERNAL_ERROR_MESSAGE, "INTERNAL");
  });
  return app;
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MB` : `${n} bytes`;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** `Authorization: Bearer <token>`, compared in constant time (of equal-length digests). */
export function bearerTokenMatches(header: string | null | undefined, token: string): boolean {
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  const given = match ? match[1]! : "";
  const equal = timingSafeEqual(digest(given), digest(token));
  return match !== null && equal;
}

function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (bearerTokenMatches(c.req.header("authorization"), token)) return next();
    c.header("WWW-Authenticate", 'Bearer realm="prefectlite"');
    return jsonError(c, 401, "missing or wrong API token: send 'Authorization: Bearer <token>' (PREFECTLITE_API_TOKEN)", "UNAUTHENTICATED");
  };
}
