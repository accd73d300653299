/**
 * Wake-ups without waiting for a poll: a run created through one serve replica is started by
 * another replica's agent (NOTIFY on PostgreSQL), a remote agent long-polls (wait_for_flow_runs)
 * instead of sleeping, and falls back to sleeping against a server without the long poll. Every
 * agent here polls every 60 s: a run started within the tests' 30 s limits was woken.
 * PREFECTLITE_PUBLIC_API_URL: serve's agent hands its run processes that URL instead of its own.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../postgres.ts";
import { listeningUrl, startCli, until, type CliProcess } from "./process-helpers.ts";

const SLOW_POLL = { PREFECTLITE_AGENT_POLL_SECONDS: "60", PREFECTLITE_AGENT_WARM_PROCESSES: "0" };
const running: CliProcess[] = [];
afterAll(async () => {
  for (const p of running.reverse()) await p.stop();
});

function start(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(args, { ...SLOW_POLL, ...env });
  running.push(p);
  return p;
}

/** What a proxy passes on (not Host: the server answers only to its own names). */
function forwardedHeaders(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["content-type", "authorization", "x-prefect-agent-id"]) {
    const value = request.headers.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

async function serveAt(args: string[], env: Record<string, string>): Promise<{ serve: CliProcess; url: string }> {
  const serve = start(["serve", "--port", "0", ...args], env);
  return { serve, url: await listeningUrl(serve.output) };
}

/** Register hello-world through `api` (the registering process is a client of that server). */
async function registerHello(api: string): Promise<void> {
  const options = { env: { PREFECTLITE_API_URL: api } };
  expect((await runCli(["create", "project", "p"], options)).exitCode).toBe(0);
  expect((await runCli(["register", "-m", "prefectlite.hello_world", "--project", "p", "--no-schedule"], options)).exitCode).toBe(0);
}

async function createRun(api: string): Promise<string> {
  const created = await runCli(["run", "--name", "hello-world", "--json"], { env: { PREFECTLITE_API_URL: api } });
  expect(created.exitCode).toBe(0);
  return JSON.parse(created.stdout.trim().split("\n").at(-1)!).id;
}

async function stateOf(api: string, id: string): Promise<string> {
  const response = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`, variables: { id } }),
  });
  return ((await response.json()) as { data: { flow_run_by_pk: { state: string } } }).data.flow_run_by_pk.state;
}

async function agentHasPolled(api: string): Promise<boolean> {
  const response = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `query { agent { last_queried } }` }),
  });
  const agents = ((await response.json()) as { data: { agent: Array<{ last_queried: string | null }> } }).data.agent;
  return agents.some((a) => a.last_queried !== null);
}

describePostgres("two serve replicas on one PostgreSQL", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    for (const p of running.splice(0).reverse()) await p.stop();
    await db?.drop();
  });

  test("a run created through replica A (no agent) is started by replica B's agent at once, not at B's next poll", async () => {
    db = await postgresDatabase();
    const env = { PREFECTLITE_DATABASE_URL: db.url };
    const a = await serveAt(["--no-agent"], { ...env, PREFECTLITE_HOME: tempDir("prefectlite-a-"), PREFECTLITE_REPLICA_ID: "a" });
    // B without a scheduler: nothing but A's NOTIFY can wake B's agent before its 60 s poll.
    const b = await serveAt(["--no-scheduler"], { ...env, PREFECTLITE_HOME: tempDir("prefectlite-b-"), PREFECTLITE_REPLICA_ID: "b" });
    await registerHello(a.url);
    await until(() => agentHasPolled(a.url), "replica B's agent to make its first pass");
    const id = await createRun(a.url);
    await until(async () => (await stateOf(a.url, id)) === "Success", "the run to be started by B's agent and succeed", 30_000);
    expect(b.serve.output()).toContain(id);
    expect(a.serve.output()).not.toContain(id);
  });
});

describe("a remote agent's long poll", () => {
  test("an agent polling every 60 s starts a run created after it went idle, at once", async () => {
    const { url } = await serveAt(["--no-agent"], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    await registerHello(url);
    const agent = start(["agent", "start", "--api", url], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    await agent.waitFor(/Agent 'agent' started/);
    await until(() => agentHasPolled(url), "the agent's first pass");
    const id = await createRun(url);
    await until(async () => (await stateOf(url, id)) === "Success", "the long-polling agent to start the run", 30_000);
    expect(agent.output()).not.toContain("no long poll");
  });

  test("against a server without wait_for_flow_runs, the agent says so once and sleeps between polls", async () => {
    const { url } = await serveAt(["--no-agent"], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    await registerHello(url);
    // A server that refuses the long poll's document as a server without the field would.
    const older = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const body = await request.text();
        if (body.includes("wait_for_flow_runs")) {
          return Response.json({ errors: [{ message: 'Cannot query field "wait_for_flow_runs" on type "Query".', extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] });
        }
        return fetch(`${url}/graphql`, { method: "POST", headers: forwardedHeaders(request), body });
      },
    });
    try {
      const agent = start(["agent", "start", "--api", `http://127.0.0.1:${older.port}`], {
        PREFECTLITE_HOME: tempDir("prefectlite-home-"),
        PREFECTLITE_AGENT_POLL_SECONDS: "0.2",
      });
      await agent.waitFor(/the server has no long poll \(wait_for_flow_runs\): polling every 0\.2 s/);
      const id = await createRun(url);
      await until(async () => (await stateOf(url, id)) === "Success", "the polling agent to start the run", 30_000);
      expect(agent.output().match(/no long poll/g)).toHaveLength(1);
    } finally {
      older.stop(true);
    }
  });
});

describe("PREFECTLITE_PUBLIC_API_URL", () => {
  test("serve's agent hands its run processes that URL (a load balancer) instead of its own: a task's Client goes there", async () => {
    let target = "";
    let forwarded = 0;
    const balancer = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        forwarded++;
        const path = new URL(request.url).pathname;
        return fetch(`${target}${path}`, { method: request.method, headers: forwardedHeaders(request), body: request.method === "GET" ? undefined : await request.text() });
      },
    });
    try {
      const publicUrl = `http://127.0.0.1:${balancer.port}`;
      const { url } = await serveAt([], { PREFECTLITE_HOME: tempDir("prefectlite-home-"), PREFECTLITE_PUBLIC_API_URL: publicUrl });
      target = url;
      // The run's own reads and writes go through serve's agent (its run channel); code in a task
      // that talks to the backend uses the URL the process was given.
      const path = join(tempDir("prefectlite-flows-"), "asks.ts");
      writeFileSync(
        path,
        `import { Client, Flow, task } from "prefectlite";
         const ask = task({ name: "ask" }, async () => { const c = new Client(); try { await c.graphql("{ hello }"); } finally { await c.close(); } });
         export const flow = new Flow("asks", () => { ask(); });`,
      );
      const options = { env: { PREFECTLITE_API_URL: url } };
      expect((await runCli(["create", "project", "p"], options)).exitCode).toBe(0);
      expect((await runCli(["register", "-p", path, "--project", "p", "--no-schedule"], options)).exitCode).toBe(0);
      expect(forwarded).toBe(0);
      const created = await runCli(["run", "--name", "asks", "--json"], options);
      const id = JSON.parse(created.stdout.trim().split("\n").at(-1)!).id as string;
      await until(async () => (await stateOf(url, id)) === "Success", "the run to succeed", 30_000);
      expect(forwarded).toBeGreaterThan(0); // the task's Client asked through the balancer
    } finally {
      balancer.stop(true);
    }
  });
});
