import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { openDatabase } from "../../src/storage/db.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/storage/migrate.ts";
import { tempDatabasePath } from "../services/fixtures.ts";

const userVersion = (db: Database) => (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;

describe("migrations", () => {
  test("a fresh database gets the latest schema version and every table", () => {
    const db = openDatabase(tempDatabasePath());
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    for (const t of ["project", "flow_group", "flow", "task", "edge", "agent", "flow_run", "flow_run_state", "task_run", "task_run_state", "log"]) {
      expect(tables).toContain(t);
    }
    db.close();
  });

  test("a database written by a newer prefectlite is refused with a clear error", () => {
    const path = tempDatabasePath();
    const raw = new Database(path, { create: true });
    raw.exec(`PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openDatabase(path)).toThrow(/newer prefectlite/);
  });

  test("a database at an older version is upgraded, keeping its rows", () => {
    const path = tempDatabasePath();
    const raw = new Database(path, { create: true });
    raw.exec("CREATE TABLE keep_me (x INTEGER)");
    raw.exec("INSERT INTO keep_me VALUES (42)");
    raw.exec("PRAGMA user_version = 0");
    raw.close();
    const db = openDatabase(path);
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.query("SELECT x FROM keep_me").get()).toEqual({ x: 42 });
    expect(db.query("SELECT COUNT(*) AS n FROM flow_run").get()).toEqual({ n: 0 });
    db.close();
  });

  test("opening an up-to-date database twice migrates nothing and keeps its data", () => {
    const path = tempDatabasePath();
    const first = openDatabase(path);
    first.exec("INSERT INTO project (id, name, created, updated) VALUES ('p', 'x', 't', 't')");
    first.close();
    const second = openDatabase(path);
    expect(second.query("SELECT name FROM project").get()).toEqual({ name: "x" });
    expect(second.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(second.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    second.close();
  });
});
