/**
 * Which database a process uses: `serve --database URL` (over PREFECTLITE_DATABASE_URL), `serve
 * --no-migrate`, and PREFECTLITE_DATABASE_URL for the commands that open the database themselves.
 * serve says which database and which replica it is, never a password.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../postgres.ts";
import { startCli, type CliProcess } from "./process-helpers.ts";

const running: CliProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
});

function serveCli(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(["serve", "--port", "0", "--no-agent", "--no-scheduler", ...args], env);
  running.push(p);
  return p;
}

describe("serve's database on SQLite", () => {
  test("--database wins over PREFECTLITE_DATABASE_URL; serve prints the database and its replica id", async () => {
    const home = tempDir("prefectlite-home-");
    const fromEnv = join(tempDir(), "env.db");
    const fromFlag = join(tempDir(), "flag.db");
    const serve = serveCli(["--database", `sqlite:${fromFlag}`], { PREFECTLITE_HOME: home, PREFECTLITE_DATABASE_URL: `sqlite:${fromEnv}`, PREFECTLITE_REPLICA_ID: "replica-a" });
    await serve.waitFor(/Replica replica-a/);
    expect(serve.output()).toContain(`(database ${fromFlag})`);
    expect(existsSync(fromFlag)).toBe(true);
    expect(existsSync(fromEnv)).toBe(false);
    expect(existsSync(join(home, "prefectlite.db"))).toBe(false);
  });

  test("the replica id defaults to hostname:pid", async () => {
    const serve = serveCli([], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    const [, id] = await serve.waitFor(/Replica (\S+)/);
    expect(id).toBe(`${hostname()}:${serve.proc.pid}`);
  });

  test("--no-migrate refuses a database behind this binary with one Error line; after db migrate it serves it", async () => {
    const path = join(tempDir(), "fresh.db");
    const result = await runCli(["serve", "--port", "0", "--no-migrate", "--database", path]);
    expect(result.exitCode).not.toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("Error: the database's schema (0) is older than this prefectlite's");
    expect(lines[0]).toContain("prefectlite db migrate");
    // After `db migrate`, --no-migrate serves it.
    expect((await runCli(["db", "migrate", "--database", path])).exitCode).toBe(0);
    const serve = serveCli(["--no-migrate", "--database", path], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    await serve.waitFor(/listening on/);
  });

  test("serve --help lists --database and --no-migrate", async () => {
    const help = await runCli(["serve", "--help"]);
    expect(help.stdout).toContain("--database <url>");
    expect(help.stdout).toContain("--no-migrate");
  });
});

describePostgres("serve and the commands on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  test("serve --database postgres://… prints the database without its password", async () => {
    const db = await postgresDatabase();
    databases.push(db);
    // The test cluster trusts local connections: the password is accepted and ignored.
    const withPassword = db.url.replace("postgres@", "postgres:s3cret-pw@");
    const serve = serveCli(["--database", withPassword], { PREFECTLITE_HOME: tempDir("prefectlite-home-") });
    await serve.waitFor(/Replica /);
    expect(serve.output()).toMatch(/\(database postgres:\/\/postgres@127\.0\.0\.1:\d+\/t\w+\)/);
    expect(serve.output()).not.toContain("s3cret-pw");
  });

  test("serve --no-migrate refuses an unmigrated PostgreSQL database with one Error line", async () => {
    const db = await postgresDatabase({ migrated: false });
    databases.push(db);
    const result = await runCli(["serve", "--port", "0", "--no-migrate", "--database", db.url]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^Error: the database's schema is 0, .*prefectlite db migrate/)]);
  });

  test("PREFECTLITE_DATABASE_URL: create, register, get and db migrate use it, and nothing is written to the home's file", async () => {
    const db = await postgresDatabase();
    databases.push(db);
    const home = tempDir("prefectlite-home-");
    const env = { PREFECTLITE_DATABASE_URL: db.url };
    expect((await runCli(["db", "migrate", "--json"], { home, env })).stdout).toContain(`"applied":[]`);
    expect((await runCli(["create", "project", "pg-project"], { home, env })).exitCode).toBe(0);
    const registered = await runCli(["register", "-m", "prefectlite.hello_world", "--project", "pg-project"], { home, env });
    expect(registered.exitCode).toBe(0);
    const flows = await runCli(["get", "flows", "--json"], { home, env });
    expect(JSON.parse(flows.stdout).map((f: { name: string }) => f.name)).toEqual(["hello-world"]);
    // The same home without the setting: its own (empty) SQLite database.
    const local = await runCli(["get", "projects", "--json"], { home });
    expect(JSON.parse(local.stdout)).toEqual([]);
    const projects = await runCli(["get", "projects", "--json"], { home, env });
    expect(JSON.parse(projects.stdout).map((p: { name: string }) => p.name)).toEqual(["pg-project"]);
  });
});
