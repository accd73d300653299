import type { Context, MiddlewareHandler } from "hono";
import type { HostAllowList } from "./allowed-hosts.ts";

/**
 * What the server refuses before any route runs: requests for a host it does not answer to
 * (DNS rebinding), and on the GraphQL endpoint, browser requests from other sites and bodies
 * that are not JSON (a plain HTML form or `text/plain` POST needs no CORS preflight, a JSON one
 * does, and the server grants none).
 */

export type ErrorStatus = 401 | 403 | 404 | 413 | 415 | 421 | 429 | 500;

export const jsonError = (c: Context, status: ErrorStatus, message: string, code: string) =>
  c.json({ errors: [{ message, extensions: { code } }] }, status);

/** The `Host` a request was sent to (Bun builds the URL from it; `app.request` has only the URL). */
export function requestHost(request: Request): string {
  return request.headers.get("host") ?? new URL(request.url).host;
}

/** Refuse (421) a request whose Host is not one of `allowed`; `open` paths are served to any host. */
export function refuseUnknownHosts(allowed: HostAllowList, open: readonly string[]): MiddlewareHandler {
  // The few Host values a server sees, remembered once allowed (the check is on every request).
  const known = new Set<string>();
  return async (c, next) => {
    const host = requestHost(c.req.raw);
    if (known.has(host)) return next();
    if (allowed.allows(host)) {
      if (known.size < 64) known.add(host);
      return next();
    }
    if (open.includes(c.req.path)) return next();
    const shown = host.length > 100 ? `${host.slice(0, 100)}…` : host;
    return jsonError(
      c,
      421,
      `this server does not answer to host '${shown}' (a DNS-rebinding page sends its own name): to allow it, add it to PREFECTLITE_ALLOWED_HOSTS (comma-separated, 'name' or 'name:port')`,
      "MISDIRECTED_REQUEST",
    );
  };
}

/**
 * The GraphQL endpoint's rules: no browser request from another site (Sec-Fetch-Site, which
 * browsers set and pages cannot; other clients send none), and a POST body only as
 * `application/json`. Mutations over GET are refused by graphql-yoga (405).
 */
export const graphqlRequestRules: MiddlewareHandler = async (c, next) => {
  const site = c.req.header("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") {
    return jsonError(c, 403, "cross-site request refused: web pages of other sites may not use this server's API", "FORBIDDEN");
  }
  if (c.req.method === "POST" && !isJsonContentType(c.req.header("content-type"))) {
    const sent = c.req.header("content-type") ?? "none";
    return jsonError(
      c,
      415,
      `a GraphQL POST must have Content-Type: application/json (got '${sent.slice(0, 100)}'): send { "query": "…", "variables": { … } } as JSON`,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  }
  return next();
};

export function isJsonContentType(type: string | undefined | null): boolean {
  return type !== undefined && type !== null && /^application\/json\s*(;|$)/i.test(type);
}
