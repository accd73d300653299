import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The UI's side of the API token: a visitor signs in once with the token, which is kept in an
 * HttpOnly, SameSite=Strict cookie; UI routes accept that cookie (or the bearer header). Every
 * token check goes through the server's guess limit. Every state-changing form is a POST whose
 * Origin (else Referer) must be one of the server's allowed hosts: not compared with the
 * request's own Host, which a DNS-rebinding page chooses.
 */

export const TOKEN_COOKIE = "prefectlite_token";

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Constant-time comparison (of equal-length digests). */
export function tokenEquals(given: string | undefined, token: string): boolean {
  return timingSafeEqual(digest(given ?? ""), digest(token)) && given !== undefined;
}

function bearerOf(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  return match ? match[1] : undefined;
}

/** The server's limit on token guessing, per client (see src/server/token-throttle.ts). */
export interface GuessLimit {
  /** Milliseconds before this request's client may present a token again (0: now). */
  waitMs(c: Context): number;
  /** This request's client presented a wrong token. */
  failed(c: Context): void;
}

export const NO_GUESS_LIMIT: GuessLimit = { waitMs: () => 0, failed: () => {} };

/** "open": no token is set; "none": the request carries none; else whether it is right, or how long to wait. */
export type TokenCheck = "open" | "right" | "wrong" | "none" | { waitMs: number };

/** The token a UI request carries (cookie or bearer header), checked under the guess limit. */
export function checkUiToken(c: Context, token: string | undefined, limit: GuessLimit): TokenCheck {
  if (!token) return "open";
  const given = [getCookie(c, TOKEN_COOKIE), bearerOf(c.req.header("authorization"))].filter((t) => t !== undefined);
  if (given.length === 0) return "none";
  const waitMs = limit.waitMs(c);
  if (waitMs > 0) return { waitMs };
  if (given.some((t) => tokenEquals(t, token))) return "right";
  limit.failed(c);
  return "wrong";
}

/** The one line for a client that is locked out, and its Retry-After in whole seconds. */
export function tooManyGuesses(waitMs: number): { message: string; retryAfter: string } {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return { message: `too many wrong API tokens from your address: try again in ${seconds} s`, retryAfter: String(seconds) };
}

/** True when the visitor holds the token in the cookie (so a "Log out" button makes sense). */
export function hasTokenCookie(c: Context, token: string | undefined): boolean {
  return token !== undefined && tokenEquals(getCookie(c, TOKEN_COOKIE), token);
}

/** A local path to return to after signing in ("/" for anything that could lead elsewhere). */
export function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

/** UI routes: without the token, a GET goes to the login form, anything else is refused. */
export function requireUiToken(token: string | undefined, limit: GuessLimit): MiddlewareHandler {
  return async (c, next) => {
    const check = checkUiToken(c, token, limit);
    if (check === "open" || check === "right") return next();
    if (typeof check === "object") {
      const { message, retryAfter } = tooManyGuesses(check.waitMs);
      c.header("Retry-After", retryAfter);
      return c.text(message, 429);
    }
    // A stale cookie (the token changed) would count as a wrong guess on every page.
    if (check === "wrong" && getCookie(c, TOKEN_COOKIE) !== undefined) clearToken(c);
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    return c.text("missing or wrong API token: sign in at /login", 401);
  };
}

/** Whether a host (`name[:port]`) is one the server answers to. */
export type HostCheck = (host: string) => boolean;

/** The host of the page that sent this request: its Origin, or without one its Referer's. */
function senderHost(c: Context): string | undefined {
  const sender = c.req.header("origin") ?? c.req.header("referer");
  if (!sender || sender === "null") return undefined;
  try {
    const url = new URL(sender);
    return url.protocol === "http:" || url.protocol === "https:" ? url.host : undefined;
  } catch {
    return undefined;
  }
}

/** The request was sent by a page on one of the server's allowed hosts (Origin, else Referer). */
export function isAllowedOrigin(c: Context, allowedHost: HostCheck): boolean {
  const host = senderHost(c);
  return host !== undefined && allowedHost(host);
}

export function requireAllowedOrigin(allowedHost: HostCheck): MiddlewareHandler {
  return async (c, next) => {
    if (isAllowedOrigin(c, allowedHost)) return next();
    return c.text(
      "cross-site request refused: this form must be sent from the prefectlite UI itself (its Origin or Referer must be one of the server's hosts, see PREFECTLITE_ALLOWED_HOSTS)",
      403,
    );
  };
}

export function storeToken(c: Context, token: string): void {
  setCookie(c, TOKEN_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
  });
}

export function clearToken(c: Context): void {
  deleteCookie(c, TOKEN_COOKIE, { path: "/" });
}
