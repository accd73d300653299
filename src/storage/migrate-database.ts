/**
 * `prefectlite db migrate`: bring the database at a URL to this binary's schema, whichever kind
 * it is, and say what was done. SQLite: "sqlite:PATH" or a plain PATH (the file is created if
 * missing); PostgreSQL: postgres:// or postgresql://.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { PrefectliteError } from "../core/errors.ts";
import { openDatabase } from "./sqlite/db.ts";
import { LATEST_SCHEMA_VERSION } from "./sqlite/migrate.ts";
import { connectPostgres, isPostgresUrl } from "./postgres/connection.ts";
import { migratePostgres, postgresSchemaVersion } from "./postgres/migrate.ts";

export interface MigrationReport {
  /** Where the database is, safe to print (no password). */
  description: string;
  /** The schema versions this call applied (none: it was up to date). */
  applied: number[];
  /** The schema version now. */
  version: number;
}

export async function migrateDatabaseAt(url: string): Promise<MigrationReport> {
  if (isPostgresUrl(url)) {
    const { sql, target } = await connectPostgres(url, { max: 2 });
    try {
      const { applied } = await migratePostgres(sql);
      return { description: target.description, applied, version: await postgresSchemaVersion(sql) };
    } finally {
      await sql.close();
    }
  }
  const raw = url.startsWith("sqlite:") ? url.slice("sqlite:".length) : url;
  if (raw === "" || raw === ":memory:") throw new PrefectliteError("Usage", "an in-memory database has nothing to migrate: give a file (sqlite:PATH) or a postgres:// URL");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new PrefectliteError("Usage", `unknown database URL scheme in '${raw.split("://")[0]}://…': use sqlite:PATH or postgres://…`);
  const path = resolve(raw);
  const before = existsSync(path) ? sqliteSchemaVersion(path) : 0;
  openDatabase(path).close(); // opening migrates (and refuses a newer database)
  const applied = [];
  for (let v = before + 1; v <= LATEST_SCHEMA_VERSION; v++) applied.push(v);
  return { description: path, applied, version: Math.max(before, LATEST_SCHEMA_VERSION) };
}

function sqliteSchemaVersion(path: string): number {
  let db: Database;
  try {
    db = new Database(path, { readonly: true });
  } catch (e) {
    throw new PrefectliteError("Unavailable", `cannot open the database ${path}: ${(e as Error).message}`);
  }
  try {
    return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  } catch (e) {
    throw new PrefectliteError("Validation", `${path} is not a prefectlite database: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}
