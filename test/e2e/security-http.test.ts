/**
 * The compiled binary's HTTP defences, as a web page the user opens would meet them: a
 * DNS-rebinding request, HTML form and text/plain posts, a mutation over GET, a cross-origin UI
 * form; and a second `serve` on the port the first holds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { build } from "../../scripts/build.ts";
import { REPO_ROOT, runCli, tempDir } from "../helpers.ts";
import { cliEnv, until } from "./process-helpers.ts";

let binary = "";
let home = "";
let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let output = "";
let port = 0;
let base = "";

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  home = tempDir("prefectlite-sec-http-");
  const flows = join(home, "flows");
  mkdirSync(flows);
  cpSync(join(REPO_ROOT, "flows/hello_world.ts"), join(flows, "hello_world.ts"));
  server = Bun.spawn([binary, "serve", "--port", "0", "--no-agent", "--no-scheduler", "--watch", flows, "--project", "default"], {
    cwd: home,
    env: cliEnv({ PREFECTLITE_HOME: home, PREFECTLITE_ALLOWED_HOSTS: "prefect.test, proxy.test:8443" }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const decoder = new TextDecoder();
  for (const stream of [server.stdout, server.stderr]) {
    void (async () => {
      const reader = stream.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value, { stream: true });
    })();
  }
  await until(() => /Registered 'hello-world'/.test(output) || server!.exitCode !== null, `serve to start (printed so far:\n${output})`, 60_000);
  port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  base = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

const graphql = async (query: string) =>
  (await (await fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) })).json()) as any;
const projectNames = async () => ((await graphql("{ project(order_by: { name: asc }) { name } }")).data.project as Array<{ name: string }>).map((p) => p.name);
const runCount = async () => ((await graphql("{ flow_run_aggregate { aggregate { count } } }")).data.flow_run_aggregate.aggregate.count as number);
const createProject = (name: string) => `mutation { create_project(input: { name: "${name}" }) { id } }`;

describe("the compiled server's HTTP defences", () => {
  test("a DNS-rebinding request (Host: evil.example:PORT) is refused with one line, on the API and the UI", async () => {
    expect(server!.exitCode).toBeNull();
    const host = `evil.example:${port}`;
    for (const path of [`/graphql?query=${encodeURIComponent("{ project { name } }")}`, "/", "/flow-runs"]) {
      const res = await fetch(`${base}${path}`, { headers: { host } });
      expect(res.status).toBe(421);
      expect(((await res.json()) as any).errors[0].message).toBe(
        `this server does not answer to host '${host}' (a DNS-rebinding page sends its own name): to allow it, add it to PREFECTLITE_ALLOWED_HOSTS (comma-separated, 'name' or 'name:port')`,
      );
    }
    const write = await fetch(`${base}/graphql`, { method: "POST", headers: { host, "content-type": "application/json" }, body: JSON.stringify({ query: createProject("rebound") }) });
    expect(write.status).toBe(421);
    expect(await projectNames()).not.toContain("rebound");
  });

  test("names from PREFECTLITE_ALLOWED_HOSTS are served", async () => {
    for (const host of [`prefect.test:${port}`, "proxy.test:8443", `localhost:${port}`]) {
      const res = await fetch(`${base}/graphql?query=${encodeURIComponent("{ hello }")}`, { headers: { host } });
      expect(await res.json()).toEqual({ data: { hello: "👋" } });
    }
    expect((await fetch(`${base}/`, { headers: { host: `prefect.test:${port}` } })).status).toBe(200);
    expect((await fetch(`${base}/`, { headers: { host: "proxy.test:8444" } })).status).toBe(421);
  });

  test("a form-encoded or text/plain POST mutation gets 415 and creates nothing; a mutation over GET is refused", async () => {
    const form = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: createProject("from-form") }).toString(),
    });
    expect(form.status).toBe(415);
    expect(((await form.json()) as any).errors[0].message).toBe(
      `a GraphQL POST must have Content-Type: application/json (got 'application/x-www-form-urlencoded'): send { "query": "…", "variables": { … } } as JSON`,
    );
    const text = await fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: createProject("from-text") }) });
    expect(text.status).toBe(415);
    const get = await fetch(`${base}/graphql?query=${encodeURIComponent(createProject("from-get"))}`);
    expect(get.status).toBe(405);
    expect(await projectNames()).toEqual(["default"]);
    expect((await graphql(createProject("from-json"))).data.create_project.id).toBeString();
    expect(await projectNames()).toEqual(["default", "from-json"]);
  });

  test("a UI form posted from another origin is refused and starts no run; from the UI's own origin it does", async () => {
    const flowId = (await graphql(`{ flow(where: { name: { _eq: "hello-world" } }) { id } }`)).data.flow[0].id as string;
    const runForm = (origin: string) =>
      fetch(`${base}/flow/${flowId}/run`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin },
        body: new URLSearchParams({ parameters: "{}" }).toString(),
        redirect: "manual",
      });
    for (const origin of ["http://evil.example", `http://localhost:${port + 1}`, "null"]) {
      const res = await runForm(origin);
      expect(res.status).toBe(403);
      expect(await res.text()).toStartWith("cross-site request refused");
    }
    expect(await runCount()).toBe(0);
    const own = await runForm(base);
    expect(own.status).toBe(303);
    expect(await runCount()).toBe(1);
  });

  test("a second serve on the same port exits 2 with one line naming the port; the first keeps serving its data", async () => {
    const otherHome = tempDir("prefectlite-sec-http-second-");
    const second = await runCli(["serve", "--port", String(port), "--no-agent", "--no-scheduler"], { command: [binary], cwd: home, home: otherHome });
    rmSync(otherHome, { recursive: true, force: true });
    expect(second.stderr).toBe(`Error: port ${port} is already in use on 127.0.0.1 (another prefectlite serve?): stop that process or choose another --port\n`);
    expect(second.exitCode).toBe(2);
    expect(second.stdout).toBe("");
    for (let i = 0; i < 5; i++) expect(await projectNames()).toEqual(["default", "from-json"]);
    expect(server!.exitCode).toBeNull();
  });
});
