import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The UI's side of the API token: a visitor signs in once with the token, which is kept in an
 * HttpOnly, SameSite=Strict cookie; UI routes accept that cookie (or the bearer header). Every
 * state-changing form is a POST that must come from this origin (Origin, else Referer).
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

/** True when no token is set, or the request carries it (cookie or bearer header). */
export function isSignedIn(c: Context, token: string | undefined): boolean {
  if (!token) return true;
  return tokenEquals(getCookie(c, TOKEN_COOKIE), token) || tokenEquals(bearerOf(c.req.header("authorization")), token);
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
export function requireUiToken(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (isSignedIn(c, token)) return next();
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    return c.text("missing or wrong API token: sign in at /login", 401);
  };
}

/** The request's Origin (or, without one, its Referer's origin) must be this server's. */
export function isSameOrigin(c: Context): boolean {
  const own = new URL(c.req.url).origin;
  const origin = c.req.header("origin");
  if (origin) return origin === own;
  const referer = c.req.header("referer");
  if (!referer) return false;
  try {
    return new URL(referer).origin === own;
  } catch {
    return false;
  }
}

export const requireSameOrigin: MiddlewareHandler = async (c, next) => {
  if (isSameOrigin(c)) return next();
  return c.text("cross-site request refused: this form must be sent from the prefectlite UI itself", 403);
};

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
