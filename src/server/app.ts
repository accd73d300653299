import type { GraphQLSchema } from "graphql";
import { createYoga } from "graphql-yoga";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiContext } from "../api/context.ts";
import { INTERNAL_ERROR_MESSAGE, toPublicError } from "../api/errors.ts";
import { queryLimitsPlugin } from "./query-limits-plugin.ts";
import { mountUi } from "../ui/routes.tsx";
import { tooManyGuesses, type GuessLimit } from "../ui/auth.ts";
import { AllowedHosts, type HostAllowList } from "./allowed-hosts.ts";
import { handleJsonPost, isPlainJsonPost } from "./graphql-post.ts";
import { graphqlRequestRules, jsonError, refuseUnknownHosts } from "./request-guards.ts";
import { TokenThrottle } from "./token-throttle.ts";

/** Request bodies above this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const AGENT_ID_HEADER = "x-prefect-agent-id";
/** Prefect 1's client sends its version on every request: the caller is Prefect Core. */
export const PREFECT_CORE_VERSION_HEADER = "x-prefect-core-version";

/** What the server knows of a request when it builds the GraphQL context. */
export interface RequestInfo {
  /** The `X-Prefect-Agent-Id` header, if sent. */
  agentId: string | undefined;
  /** The `X-Prefect-Core-Version` header, if sent: the caller is Prefect Core. */
  prefectCoreVersion?: string | undefined;
  request: Request;
}

export type ContextFactory = (info: RequestInfo) => ApiContext;

export interface AppOptions {
  schema: GraphQLSchema;
  contextFactory: ContextFactory;
  /** When set, every route but /health needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  maxBodyBytes?: number;
  /** The hosts served (default: the loopback names without a port, as `app.request` sends). */
  allowedHosts?: HostAllowList;
  /** Wrong tokens per client address (default: a new one for this app). */
  tokenThrottle?: TokenThrottle;
}

/** Bun hands the app its server as `env`: the client's address comes from there. */
interface BunEnv {
  requestIP?(request: Request): { address: string } | null;
}

function requestInfo(request: Request): RequestInfo {
  return {
    agentId: request.headers.get(AGENT_ID_HEADER) ?? undefined,
    prefectCoreVersion: request.headers.get(PREFECT_CORE_VERSION_HEADER) ?? undefined,
    request,
  };
}

function clientAddress(c: Context): string {
  return (c.env as BunEnv | undefined)?.requestIP?.(c.req.raw)?.address ?? "unknown";
}

function guessLimitOf(throttle: TokenThrottle): GuessLimit {
  return { waitMs: (c) => throttle.waitMs(clientAddress(c)), failed: (c) => throttle.failed(clientAddress(c)) };
}

/**
 * The HTTP face of the backend: `POST/GET /graphql` and `POST /` (a plain JSON POST on a fast path, see
 * graphql-post.ts; everything else through graphql-yoga), `GET /health` (always open, to any
 * host: it says nothing but "ok", and health probes use addresses the server does not know),
 * the allowed hosts, the optional bearer token (wrong ones throttled per address) and the body
 * limit, and the web UI at `/` (src/ui: its pages take the token from the login cookie or the
 * bearer header; /graphql keeps the bearer header only).
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
    context: ({ request }) => contextFactory(requestInfo(request)),
  });

  const allowedHosts = options.allowedHosts ?? AllowedHosts.loopbackDefaultPort();
  const guessLimit = guessLimitOf(options.tokenThrottle ?? new TokenThrottle());
  const app = new Hono();
  app.use("*", refuseUnknownHosts(allowedHosts, ["/health"]));
  app.get("/health", (c) => c.json({ status: "ok" }));
  // Before the bearer check: UI routes check the token themselves (cookie or header).
  mountUi(app, {
    token: options.token,
    allowedHost: (host) => allowedHosts.allows(host),
    guessLimit,
    deps: (request) => {
      const { reads, services } = contextFactory({ agentId: undefined, request });
      return { reads, services };
    },
  });
  if (options.token) app.use("*", requireToken(options.token, guessLimit));
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) => jsonError(c, 413, `request body too large: the limit is ${formatBytes(maxBodyBytes)}`, "PAYLOAD_TOO_LARGE"),
  });
  const graphql = (c: Context) => {
    const request = c.req.raw;
    if (!isPlainJsonPost(request)) return yoga.fetch(atGraphqlEndpoint(request));
    return handleJsonPost(c, schema, contextFactory(requestInfo(request)));
  };
  app.on(["GET", "POST"], "/graphql", graphqlRequestRules, limit, graphql);
  // Prefect 1's client posts its GraphQL to the server's root (Apollo's endpoint in front of
  // Prefect Server): a JSON POST to `/` is the same endpoint; `GET /` stays the UI.
  app.post("/", graphqlRequestRules, limit, graphql);
  app.notFound((c) => jsonError(c, 404, `no route ${c.req.method} ${new URL(c.req.url).pathname}`, "NOT_FOUND"));
  app.onError((error, c) => {
    console.error("prefectlite: unexpected error in an HTTP request:", error.stack ?? error.message);
    return jsonError(c, 500, INTERNAL_ERROR_MESSAGE, "INTERNAL");
  });
  return app;
}

/** The request as yoga's endpoint expects it (a POST to `/` is one to `/graphql`). */
function atGraphqlEndpoint(request: Request): Request {
  const url = new URL(request.url);
  if (url.pathname === "/graphql") return request;
  url.pathname = "/graphql";
  return new Request(url, request);
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

/** A missing bearer header is no guess; a wrong one counts against the client's address. */
function requireToken(token: string, guessLimit: GuessLimit): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header) {
      const waitMs = guessLimit.waitMs(c);
      if (waitMs > 0) {
        const { message, retryAfter } = tooManyGuesses(waitMs);
        c.header("Retry-After", retryAfter);
        return jsonError(c, 429, message, "TOO_MANY_REQUESTS");
      }
      if (bearerTokenMatches(header, token)) return next();
      guessLimit.failed(c);
    }
    c.header("WWW-Authenticate", 'Bearer realm="prefectlite"');
    return jsonError(c, 401, "missing or wrong API token: send 'Authorization: Bearer <token>' (PREFECTLITE_API_TOKEN)", "UNAUTHENTICATED");
  };
}
