/**
 * `prefectlite db migrate`: a SQLite file or a PostgreSQL database brought to this binary's
 * schema, saying what it applied; bad URLs and unreachable servers are one `Error:` line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LATEST_SCHEMA_VERSION } from "../../src/storage/sqlite/migrate.ts";
import { LATEST_POSTGRES_SCHEMA_VERSION } from "../../src/storage/postgres/migrate.ts";
import { runCli, tempDir } from "../helpers.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../postgres.ts";

const allVersions = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(", ");

describe("prefectlite db migrate on SQLite, and its errors", () => {
  test("creates and migrates the file, then finds it up to date", async () => {
    const home = tempDir("prefectlite-home-");
    const path = join(tempDir(), "data.db");
    const first = await runCli(["db", "migrate", "--database", `sqlite:${path}`], { home });
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(`Database ${path} migrated to schema ${LATEST_SCHEMA_VERSION} (applied ${allVersions(LATEST_SCHEMA_VERSION)})\n`);
    expect(existsSync(path)).toBe(true);
    const again = await runCli(["db", "migrate", "--database", path, "--json"], { home });
    expect(JSON.parse(again.stdout)).toEqual({ description: path, applied: [], version: LATEST_SCHEMA_VERSION });
  });

  test("without --database it migrates the home database", async () => {
    const home = tempDir("prefectlite-home-");
    const result = await runCli(["db", "migrate"], { home });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toStartWith(`Database ${join(home, "prefectlite.db")} migrated to schema ${LATEST_SCHEMA_VERSION}`);
  });

  test("an unknown action or URL scheme is one Error line", async () => {
    const action = await runCli(["db", "upgrade"]);
    expect(action.exitCode).not.toBe(0);
    expect(action.stderr.trim()).toBe("Error: unknown db action 'upgrade': the one action is `prefectlite db migrate --database URL`");
    const scheme = await runCli(["db", "migrate", "--database", "mysql://h/db"]);
    expect(scheme.stderr.trim()).toBe("Error: unknown database URL scheme in 'mysql://…': use sqlite:PATH or postgres://…");
  });

  test("an unreachable server is one Error line without the password", async () => {
    const result = await runCli(["db", "migrate", "--database", "postgres://bob:hunter2@127.0.0.1:1/prefect"]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      "Error: cannot connect to postgres://bob@127.0.0.1:1/prefect: nothing accepted the connection (is PostgreSQL running there, and are the host and port right?)",
    );
  });

  test("--help lists --database", async () => {
    const help = await runCli(["db", "--help"]);
    expect(help.stdout).toContain("--database <url>");
  });
});

describePostgres("prefectlite db migrate on PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  test("migrates an empty database once, then finds it up to date", async () => {
    const db = await postgresDatabase({ migrated: false });
    databases.push(db);
    const description = db.url;
    const first = await runCli(["db", "migrate", "--database", db.url]);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(`Database ${description} migrated to schema ${LATEST_POSTGRES_SCHEMA_VERSION} (applied ${allVersions(LATEST_POSTGRES_SCHEMA_VERSION)})\n`);
    const again = await runCli(["db", "migrate", "--database", db.url]);
    expect(again.stdout).toBe(`Database ${description} is up to date (schema ${LATEST_POSTGRES_SCHEMA_VERSION})\n`);
  });
});
