import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FREE_FAILURES, TokenThrottle } from "../../src/server/token-throttle.ts";
import { safeNext, TOKEN_COOKIE } from "../../src/ui/auth.ts";
import { openUiFixture, ORIGIN, type UiFixture } from "./fixtures.ts";
import { textOf } from "./html.ts";

const TOKEN = "ui-s3cret";
let f: UiFixture;
beforeAll(async () => {
  f = await openUiFixture({ token: TOKEN });
});
afterAll(() => f.close());

const login = (token: string, next = "/flow-runs") => f.post("/login", { token, next });
const cookieHeader = `${TOKEN_COOKIE}=${TOKEN}`;

describe("with PREFECTLITE_API_TOKEN set", () => {
  test("a page without the token sends the visitor to the login form, remembering where they were going", async () => {
    const res = await f.request("/flow-runs?state=Failed");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent("/flow-runs?state=Failed")}`);
    const form = await (await f.request("/login?next=%2Fflow-runs")).text();
    expect(form).toContain('<label for="login-token">API token</label>');
    expect(form).toContain('type="password"');
    expect(form).toContain('value="/flow-runs"');
  });

  test("the stylesheet, the script and /health stay open", async () => {
    for (const path of ["/ui/app.css", "/ui/app.js", "/health"]) expect((await f.request(path)).status).toBe(200);
  });

  test("a wrong token is refused on the form; the right one sets an HttpOnly, SameSite=Strict cookie", async () => {
    const wrong = await login("nope");
    expect(wrong.status).toBe(403);
    expect(textOf(await wrong.text())).toContain("That is not the server's API token.");
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const right = await login(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/flow-runs");
    const cookie = right.headers.get("set-cookie")!;
    expect(cookie).toContain(`${TOKEN_COOKIE}=${TOKEN}`);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
  });

  test("the cookie opens the pages and the forms; the page offers a log-out", async () => {
    const res = await f.request("/", { headers: { cookie: cookieHeader } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(textOf(page)).toContain("hello-world");
    expect(page).toContain('action="/logout"');
    const run = await f.post(`/flow/${f.helloId}/run`, { parameters: "{}" }, { cookie: cookieHeader });
    expect(run.status).toBe(303);
  });

  test("the bearer header opens the pages too", async () => {
    expect((await f.request("/agents", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  test("a form posted without the token is refused and changes nothing", async () => {
    const before = await f.one<{ n: number }>("SELECT count(*) AS n FROM flow_run");
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: "{}" }, { cookie: `${TOKEN_COOKIE}=wrong` });
    expect(res.status).toBe(401);
    expect(await f.one("SELECT count(*) AS n FROM flow_run")).toEqual(before);
  });

  test("/graphql still wants the bearer header: the cookie alone does not open it", async () => {
    const body = JSON.stringify({ query: "{ project { name } }" });
    const headers = { "content-type": "application/json", origin: ORIGIN };
    expect((await f.request("/graphql", { method: "POST", headers: { ...headers, cookie: cookieHeader }, body })).status).toBe(401);
    expect((await f.request("/graphql", { method: "POST", headers: { ...headers, authorization: `Bearer ${TOKEN}` }, body })).status).toBe(200);
  });

  test("logging in from another site is refused (login CSRF)", async () => {
    const res = await f.post("/login", { token: TOKEN, next: "/" }, { origin: "http://evil.example" });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  test("log out clears the cookie", async () => {
    const res = await f.post("/logout", {}, { cookie: cookieHeader });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`${TOKEN_COOKIE}=;.*Max-Age=0`));
  });
});

describe("where a form may come from", () => {
  const runs = async () => (await f.one<{ n: number }>("SELECT count(*) AS n FROM flow_run")).n;
  const runForm = (headers: Record<string, string>) => f.post(`/flow/${f.helloId}/run`, { parameters: "{}" }, { cookie: cookieHeader, ...headers });

  test("a page on one of the server's hosts: Origin, or without one Referer", async () => {
    expect((await runForm({ origin: "http://127.0.0.1" })).status).toBe(303);
    const noOrigin = await f.request(`/flow/${f.helloId}/run`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader, referer: `http://localhost/flow/${f.helloId}` },
      body: "parameters=%7B%7D",
    });
    expect(noOrigin.status).toBe(303);
  });

  test("any other page is refused and nothing changes: another site, another port of localhost, an opaque origin, none", async () => {
    const before = await runs();
    for (const origin of ["http://evil.example", "http://localhost:3000", "http://127.0.0.1:8080", "null", "file://", "not a url"]) {
      const res = await runForm({ origin });
      expect(res.status).toBe(403);
      expect(await res.text()).toBe(
        "cross-site request refused: this form must be sent from the prefectlite UI itself (its Origin or Referer must be one of the server's hosts, see PREFECTLITE_ALLOWED_HOSTS)",
      );
    }
    const bare = await f.request(`/flow/${f.helloId}/run`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader },
      body: "parameters=%7B%7D",
    });
    expect(bare.status).toBe(403);
    expect(await runs()).toBe(before);
  });

  test("a DNS-rebinding page, whose Origin matches the Host it sends, is refused by the Host check", async () => {
    const before = await runs();
    const res = await runForm({ origin: "http://evil.example", host: "evil.example" });
    expect(res.status).toBe(421);
    expect(await runs()).toBe(before);
  });
});

describe("guessing the token", () => {
  test("after repeated wrong tokens the login form answers 429 for a while, even to the right token", async () => {
    let now = 0;
    const throttled = await openUiFixture({ token: TOKEN, tokenThrottle: new TokenThrottle(() => now) });
    try {
      const attempt = (token: string) => throttled.post("/login", { token, next: "/" });
      for (let i = 0; i <= FREE_FAILURES; i++) expect((await attempt(`guess-${i}`)).status).toBe(403);
      const locked = await attempt(TOKEN);
      expect(locked.status).toBe(429);
      expect(locked.headers.get("retry-after")).toBe("1");
      expect(locked.headers.get("set-cookie")).toBeNull();
      expect(textOf(await locked.text())).toContain("Too many wrong API tokens from your address: try again in 1 s.");
      // A page with a guessed cookie is a guess too.
      expect((await throttled.request("/", { headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}` } })).status).toBe(429);
      now += 1000;
      const pageGuess = await throttled.request("/", { headers: { cookie: `${TOKEN_COOKIE}=wrong` } });
      expect(pageGuess.status).toBe(303);
      expect(pageGuess.headers.get("set-cookie")).toMatch(new RegExp(`${TOKEN_COOKIE}=;.*Max-Age=0`));
      expect((await attempt(TOKEN)).status).toBe(429); // that wrong cookie locked it for 2 s
      now += 2000;
      expect((await attempt(TOKEN)).status).toBe(303);
    } finally {
      await throttled.close();
    }
  });
});

describe("the page to return to after signing in", () => {
  test("is a local path, never another site", () => {
    expect(safeNext("/flow-run/abc?level=INFO")).toBe("/flow-run/abc?level=INFO");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext(undefined)).toBe("/");
  });
});

describe("without a token", () => {
  test("the login page just goes to the flows", async () => {
    const open = await openUiFixture();
    try {
      const res = await open.request("/login");
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/");
      const page = await (await open.request("/")).text();
      expect(page).not.toContain('action="/logout"');
    } finally {
      await open.close();
    }
  });
});
