import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/storage/sqlite/migrate.ts";
import { sql as schemaV1 } from "../../src/storage/sqlite/migrations/0001-initial.ts";
import * as m0002 from "../../src/storage/sqlite/migrations/0002-leaner-run-indexes.ts";
import * as m0003 from "../../src/storage/sqlite/migrations/0003-partial-task-run-state-index.ts";
import * as m0004 from "../../src/storage/sqlite/migrations/0004-unique-flow-version.ts";
import * as m0005 from "../../src/storage/sqlite/migrations/0005-prefect-server-columns.ts";
import * as m0006 from "../../src/storage/sqlite/migrations/0006-agent-configs-and-edge-keys.ts";
import { edgeKeyFixture, MIGRATED_EDGE_KEYS } from "./edge-key-migration.ts";
import { cacheKeyFixture, MIGRATED_CACHE_KEYS } from "./cache-key-migration.ts";
import { id } from "./query-seed.ts";
import { WAITING_STATES_SQL } from "../../src/storage/waiting-states.ts";
import { tempDatabasePath } from "../services/fixtures.ts";

const userVersion = (db: Database) => (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;

describe("migrations", () => {
  test("a fresh database gets the latest schema version and every table", () => {
    const db = openDatabase(tempDatabasePath());
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    for (const t of ["project", "flow_group", "flow", "task", "edge", "agent", "flow_run", "flow_run_state", "task_run", "task_run_state", "log", "task_run_artifact", "agent_config"]) {
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
    expect(second.query("PRAGMA temp_store").get()).toEqual({ temp_store: 2 }); // MEMORY: savepoint journals off the disk
    second.close();
  });

  test("version 1 → 2 rebuilds flow_run and task_run with leaner keys, keeping every row and every cascade", () => {
    const path = tempDatabasePath();
    const v1 = new Database(path, { create: true, strict: true });
    v1.exec("PRAGMA journal_mode = WAL");
    v1.exec(schemaV1);
    v1.exec("PRAGMA user_version = 1");
    const t = "2026-11-23T10:00:00.000Z";
    v1.exec(`
      INSERT INTO project VALUES ('p', 'proj', NULL, '${t}', '${t}');
      INSERT INTO flow_group (id, name, settings, created, updated) VALUES ('g', 'vg', '{}', '${t}', '${t}');
      INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
        VALUES ('f', 'etl', 1, 'vg', 'g', 'p', '0.1.0', '{}', 'h', '${t}', '${t}');
      INSERT INTO task (id, flow_id, name, slug, type, trigger, created) VALUES ('t1', 'f', 'extract', 'extract-1', 'task', 'all_successful', '${t}');
      INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, auto_scheduled, idempotency_key, version, state, created, updated)
        VALUES ('r1', 'f', 'one', '${t}', 0, 'key-1', 3, 'Success', '${t}', '${t}'),
               ('r2', 'f', 'two', '${t}', 1, NULL, 1, 'Scheduled', '${t}', '${t}');
      INSERT INTO flow_run_state (id, flow_run_id, timestamp, state, serialized_state, version, created) VALUES ('s1', 'r1', '${t}', 'Success', '{}', 3, '${t}');
      INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, version, state, created, updated)
        VALUES ('tr1', 'r1', 't1', 'extract-1', -1, 2, 'Success', '${t}', '${t}'), ('tr2', 'r2', 't1', 'extract-1', -1, 1, 'Pending', '${t}', '${t}');
      INSERT INTO task_run_state (id, task_run_id, timestamp, state, serialized_state, version, created) VALUES ('ts1', 'tr1', '${t}', 'Success', '{}', 2, '${t}');
      INSERT INTO log (id, flow_run_id, task_run_id, timestamp, level, message, created) VALUES ('l1', 'r1', 'tr1', '${t}', 'INFO', 'hello', '${t}');
    `);
    v1.close();

    const db = openDatabase(path);
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    expect(db.query("SELECT id, idempotency_key, version, state FROM flow_run ORDER BY id").all()).toEqual([
      { id: "r1", idempotency_key: "key-1", version: 3, state: "Success" },
      { id: "r2", idempotency_key: null, version: 1, state: "Scheduled" },
    ]);
    expect(db.query("SELECT id, task_slug, version FROM task_run ORDER BY id").all()).toEqual([
      { id: "tr1", task_slug: "extract-1", version: 2 },
      { id: "tr2", task_slug: "extract-1", version: 1 },
    ]);
    const indexes = (table: string) =>
      (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").all(table) as Array<{ name: string }>).map((r) => r.name);
    expect(indexes("flow_run")).toEqual(["flow_run_created", "flow_run_flow_created", "flow_run_idempotency", "flow_run_queue", "flow_run_schedule"]);
    expect(indexes("task_run")).toEqual(["task_run_cache_key", "task_run_running", "task_run_waiting"]); // the cache key's from version 7
    // The keys hold: a second run with key-1, or a second (run, slug, index), is refused.
    expect(() => db.exec(`INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, idempotency_key, created, updated) VALUES ('r3', 'f', 'x', '${t}', 'key-1', '${t}', '${t}')`)).toThrow(/UNIQUE/);
    expect(() => db.exec(`INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, created, updated) VALUES ('tr3', 'r1', 't1', 'extract-1', -1, '${t}', '${t}')`)).toThrow(/UNIQUE/);
    // Children still hang on their run: deleting it removes its states, task runs (and theirs) and logs.
    db.exec("DELETE FROM flow_run WHERE id = 'r1'");
    const count = (table: string) => (db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count("flow_run_state"), count("task_run"), count("task_run_state"), count("log")]).toEqual([0, 1, 0, 0]);
    // And a run still needs its flow.
    expect(() => db.exec(`INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, created, updated) VALUES ('r9', 'nope', 'x', '${t}', '${t}', '${t}')`)).toThrow(/FOREIGN KEY/);
    db.close();
  });

  test("the rebuilt tables keep every column of version 1, with its type, default and key (task_run then gains cache_key)", () => {
    const columns = (db: Database, table: string) => db.query(`PRAGMA table_info(${table})`).all() as Array<{ cid: number }>;
    const path = tempDatabasePath();
    const v1 = new Database(path, { create: true });
    v1.exec(schemaV1);
    v1.exec("PRAGMA user_version = 1");
    const before = { flow_run: columns(v1, "flow_run"), task_run: columns(v1, "task_run") };
    v1.close();
    const migrated = openDatabase(path);
    expect(userVersion(migrated)).toBe(LATEST_SCHEMA_VERSION);
    const cacheKey = { cid: before.task_run.length, name: "cache_key", type: "TEXT", notnull: 0, dflt_value: null, pk: 0 };
    expect({ flow_run: columns(migrated, "flow_run"), task_run: columns(migrated, "task_run") }).toEqual({ ...before, task_run: [...before.task_run, cacheKey] });
    migrated.close();
  });

  test("version 4: a flow group's versions are unique", () => {
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
    const db = openDatabase(tempDatabasePath());
    const t = "2026-11-23T10:00:00.000Z";
    db.exec(`
      INSERT INTO project (id, name, created, updated) VALUES ('p', 'proj', '${t}', '${t}');
      INSERT INTO flow_group (id, name, settings, created, updated) VALUES ('g', 'vg', '{}', '${t}', '${t}');
    `);
    const insertFlow = (id: string, version: number) =>
      db.exec(`INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
        VALUES ('${id}', 'etl', ${version}, 'vg', 'g', 'p', '0.1.0', '{}', 'h', '${t}', '${t}')`);
    insertFlow("f1", 1);
    expect(() => insertFlow("f2", 1)).toThrow(/UNIQUE/);
    insertFlow("f2", 2);
    expect(db.query("SELECT id, version FROM flow ORDER BY version").all()).toEqual([
      { id: "f1", version: 1 },
      { id: "f2", version: 2 },
    ]);
    db.close();
  });

  test("version 5: Prefect Server's columns get Server's defaults, and task run artifacts go with their task run", () => {
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(5);
    const db = openDatabase(tempDatabasePath());
    const t = "2026-11-23T10:00:00.000Z";
    db.exec(`
      INSERT INTO project (id, name, created, updated) VALUES ('p', 'proj', '${t}', '${t}');
      INSERT INTO flow_group (id, name, settings, created, updated) VALUES ('g', 'vg', '{}', '${t}', '${t}');
      INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
        VALUES ('f', 'etl', 1, 'vg', 'g', 'p', '0.1.0', '{}', 'h', '${t}', '${t}');
      INSERT INTO task (id, flow_id, name, slug, type, trigger, created) VALUES ('k', 'f', 'a', 'a-1', 'task', 'all_successful', '${t}');
      INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, created, updated) VALUES ('r', 'f', 'run', '${t}', '${t}', '${t}');
      INSERT INTO task_run (id, flow_run_id, task_id, task_slug, created, updated) VALUES ('tr', 'r', 'k', 'a-1', '${t}', '${t}');
      INSERT INTO task_run_artifact (id, task_run_id, kind, data, created, updated) VALUES ('x', 'tr', 'link', '{"link":"l"}', '${t}', '${t}');
    `);
    expect(db.query("SELECT settings, environment FROM flow").get()).toEqual({ settings: "{}", environment: null });
    expect(db.query("SELECT description, auto_generated, cache_key FROM task").get()).toEqual({ description: null, auto_generated: 0, cache_key: null });
    db.exec("DELETE FROM task_run");
    expect(db.query("SELECT count(*) AS n FROM task_run_artifact").get()).toEqual({ n: 0 });
    db.close();
  });

  test("version 6: agent configs (an agent's config a foreign key, SET NULL), and edge keys become argument names", () => {
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(6);
    const path = tempDatabasePath();
    const v5 = new Database(path, { create: true, strict: true });
    v5.exec("PRAGMA journal_mode = WAL");
    for (const sql of [schemaV1, m0002.sql, m0003.sql, m0004.sql, m0005.sql]) v5.exec(sql);
    v5.exec("PRAGMA user_version = 5");
    v5.exec(edgeKeyFixture("0"));
    const columnsBefore = v5.query("PRAGMA table_info(agent)").all();
    v5.close();

    const db = openDatabase(path);
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    const keys = db.query("SELECT id, key, typeof(key) AS type FROM edge ORDER BY id").all() as Array<{ id: string; key: string | null; type: string }>;
    expect(Object.fromEntries(keys.map((k) => [k.id, k.key]))).toEqual(MIGRATED_EDGE_KEYS);
    expect(keys.every((k) => k.type === (k.key === null ? "null" : "text"))).toBe(true);
    // The run keeps its agent, the agent every column it had (its config none), and the cascades hold.
    expect(db.query("SELECT agent_id FROM flow_run").get()).toEqual({ agent_id: id(61) });
    expect(db.query("PRAGMA table_info(agent)").all()).toEqual(columnsBefore);
    expect(db.query("SELECT agent_config_id FROM agent").get()).toEqual({ agent_config_id: null });
    const t = "2026-12-02T10:00:00.000Z";
    db.exec(`INSERT INTO agent_config (id, name, settings, created, updated) VALUES ('c', 'gpu', '{}', '${t}', '${t}')`);
    db.exec(`UPDATE agent SET agent_config_id = 'c'`);
    expect(() => db.exec(`UPDATE agent SET agent_config_id = 'missing'`)).toThrow(/FOREIGN KEY/);
    db.exec("DELETE FROM agent_config");
    expect(db.query("SELECT agent_config_id FROM agent").get()).toEqual({ agent_config_id: null });
    db.exec("DELETE FROM agent");
    expect(db.query("SELECT agent_id FROM flow_run").get()).toEqual({ agent_id: null });
    db.exec(`DELETE FROM flow WHERE id = '${id(12)}'`);
    expect(db.query("SELECT count(*) AS n FROM edge").get()).toEqual({ n: 3 });
    const indexes = (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('agent', 'edge') AND sql IS NOT NULL ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(indexes).toEqual(["agent_agent_config", "agent_identity", "edge_flow"]);
    db.close();
  });

  test("version 7: task runs take their task's cache key (existing ones too), indexed only where there is one", () => {
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(7);
    const path = tempDatabasePath();
    const v6 = new Database(path, { create: true, strict: true });
    v6.exec("PRAGMA journal_mode = WAL");
    for (const sql of [schemaV1, m0002.sql, m0003.sql, m0004.sql, m0005.sql, m0006.sql]) v6.exec(sql);
    v6.exec("PRAGMA user_version = 6");
    v6.exec(cacheKeyFixture());
    v6.close();

    const db = openDatabase(path);
    expect(userVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.query("SELECT id, cache_key FROM task_run ORDER BY id").all()).toEqual(MIGRATED_CACHE_KEYS);
    expect(db.query("SELECT sql FROM sqlite_master WHERE name = 'task_run_cache_key'").get()).toEqual({
      sql: "CREATE INDEX task_run_cache_key ON task_run(cache_key, state, state_timestamp) WHERE cache_key IS NOT NULL",
    });
    db.close();
  });

  test("the task-run lookups by state use the partial indexes (their conditions match the queries' term for term)", () => {
    const db = openDatabase(tempDatabasePath());
    const plan = (sql: string) => (db.query(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(" | ");
    // The agents' queue and the scheduler's wake-up: task runs waiting for their start time.
    expect(plan(`SELECT 1 FROM flow_run fr WHERE fr.state = 'Running' AND EXISTS (SELECT 1 FROM task_run tr
      WHERE tr.state IN ${WAITING_STATES_SQL} AND tr.flow_run_id = fr.id AND tr.state_start_time <= '9')`)).toContain("task_run_waiting");
    expect(plan(`SELECT MIN(tr.state_start_time) FROM task_run tr JOIN flow_run fr ON fr.id = tr.flow_run_id
      WHERE tr.state IN ${WAITING_STATES_SQL} AND fr.state = 'Running' AND tr.state_start_time > '0'`)).toContain("task_run_waiting");
    // The zombie killer and Lazarus: running task runs of a flow run.
    expect(plan(`SELECT 1 FROM flow_run fr WHERE NOT EXISTS (SELECT 1 FROM task_run tr WHERE tr.state = 'Running' AND tr.flow_run_id = fr.id)`)).toContain(
      "task_run_running",
    );
    db.close();
  });
});
