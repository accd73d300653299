/**
 * PostgreSQL's migrations: idempotent, one migrator at a time (a second waits on the advisory
 * lock and finds the work done), a database from a newer prefectlite refused; and connecting:
 * a bad URL or a refused connection is one clear line without the password.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { PrefectliteError } from "../../../src/core/errors.ts";
import { connectPostgres, parsePostgresUrl } from "../../../src/storage/postgres/connection.ts";
import {
  LATEST_POSTGRES_SCHEMA_VERSION,
  POSTGRES_MIGRATIONS,
  checkPostgresSchema,
  migratePostgres,
  postgresSchemaVersion,
} from "../../../src/storage/postgres/migrate.ts";
import { describePostgres, postgresCluster, postgresDatabase, type TestDatabase } from "../../postgres.ts";
import { edgeKeyFixture, MIGRATED_EDGE_KEYS } from "../edge-key-migration.ts";
import { cacheKeyFixture, MIGRATED_CACHE_KEYS } from "../cache-key-migration.ts";
import { id } from "../query-seed.ts";

async function tables(sql: SQL): Promise<string[]> {
  const rows = await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
  return rows.map((r: { table_name: string }) => r.table_name);
}

describePostgres("PostgreSQL migrations", () => {
  const databases: TestDatabase[] = [];
  const pools: SQL[] = [];
  async function emptyDatabase(): Promise<SQL> {
    const db = await postgresDatabase({ migrated: false });
    databases.push(db);
    const sql = new SQL({ url: db.url, max: 4 });
    pools.push(sql);
    return sql;
  }
  afterAll(async () => {
    for (const sql of pools) await sql.close();
    for (const db of databases) await db.drop();
  });

  test("migrating twice applies each migration once and leaves the schema as it was", async () => {
    const sql = await emptyDatabase();
    expect(await postgresSchemaVersion(sql)).toBe(0);
    expect(await migratePostgres(sql)).toEqual({ applied: [1, 2, 3, 4] });
    const after = await tables(sql);
    expect(after).toEqual([
      "agent", "agent_config", "edge", "flow", "flow_group", "flow_run", "flow_run_state", "log", "project",
      "schema_migrations", "task", "task_run", "task_run_artifact", "task_run_state",
    ]);
    expect(await migratePostgres(sql)).toEqual({ applied: [] });
    expect(await tables(sql)).toEqual(after);
    expect(await postgresSchemaVersion(sql)).toBe(LATEST_POSTGRES_SCHEMA_VERSION);
    await checkPostgresSchema(sql);
  });

  test("two migrators at once: one applies, the other waits for it and finds the work done", async () => {
    const sql = await emptyDatabase();
    const other = new SQL({ url: (await postgresCluster()).url.replace(/\/postgres$/, `/${databases.at(-1)!.name}`), max: 2 });
    pools.push(other);
    const results = await Promise.all([migratePostgres(sql), migratePostgres(other)]);
    expect(results.map((r) => r.applied).sort()).toEqual([[], [1, 2, 3, 4]]);
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM schema_migrations`;
    expect(n).toBe(4);
  });

  test("a database written by a newer prefectlite is refused, and left alone", async () => {
    const sql = await emptyDatabase();
    await migratePostgres(sql);
    await sql`INSERT INTO schema_migrations (version, name) VALUES (${LATEST_POSTGRES_SCHEMA_VERSION + 1}, 'from the future')`;
    const error = await migratePostgres(sql).catch((e) => e);
    expect(error).toBeInstanceOf(PrefectliteError);
    expect(error.message).toBe(
      `the database was written by a newer prefectlite (schema ${LATEST_POSTGRES_SCHEMA_VERSION + 1}, this one knows up to ${LATEST_POSTGRES_SCHEMA_VERSION}): upgrade prefectlite`,
    );
    expect((await checkPostgresSchema(sql).catch((e) => e)).message).toContain("newer prefectlite");
    expect(await postgresSchemaVersion(sql)).toBe(LATEST_POSTGRES_SCHEMA_VERSION + 1);
  });

  test("a database behind this binary is refused by the check (migrate is the fix)", async () => {
    const sql = await emptyDatabase();
    const error = await checkPostgresSchema(sql).catch((e) => e);
    expect(error.message).toBe(`the database's schema is 0, this prefectlite needs ${LATEST_POSTGRES_SCHEMA_VERSION}: run \`prefectlite db migrate --database URL\``);
  });

  test("migration 3: agent configs (an agent's config a foreign key, SET NULL), and edge keys become argument names", async () => {
    const sql = await emptyDatabase();
    // The schema at version 2, as migratePostgres would have left it.
    await sql.unsafe("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())");
    for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= 2)) {
      await sql.unsafe(m.sql);
      await sql`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
    }
    await sql.unsafe(edgeKeyFixture("false"));
    expect(await migratePostgres(sql)).toEqual({ applied: [3, 4] });
    const keys = await sql`SELECT id, key, pg_typeof(key)::text AS type FROM edge ORDER BY id`;
    expect(Object.fromEntries(keys.map((k: { id: string; key: string | null }) => [k.id, k.key]))).toEqual(MIGRATED_EDGE_KEYS);
    expect(new Set(keys.map((k: { type: string }) => k.type))).toEqual(new Set(["text"]));
    expect((await sql`SELECT agent_id FROM flow_run`)[0]).toEqual({ agent_id: id(61) });
    await sql`INSERT INTO agent_config (id, name, created, updated) VALUES (${id(81)}, 'gpu', now(), now())`;
    await sql`UPDATE agent SET agent_config_id = ${id(81)}`;
    expect(await sql`UPDATE agent SET agent_config_id = ${id(82)}`.catch((e) => e.message)).toContain("agent_agent_config_id_fkey");
    expect((await sql`SELECT settings FROM agent_config`)[0]).toEqual({ settings: {} });
    await sql`DELETE FROM agent_config`;
    expect((await sql`SELECT agent_config_id FROM agent`)[0]).toEqual({ agent_config_id: null });
  });

  test("migration 4: task runs take their task's cache key (existing ones too), indexed only where there is one", async () => {
    const sql = await emptyDatabase();
    await sql.unsafe("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())");
    for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= 3)) {
      await sql.unsafe(m.sql);
      await sql`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
    }
    await sql.unsafe(cacheKeyFixture());
    expect(await migratePostgres(sql)).toEqual({ applied: [4] });
    expect([...(await sql`SELECT id, cache_key FROM task_run ORDER BY id`)]).toEqual(MIGRATED_CACHE_KEYS);
    const [index] = await sql`SELECT indexdef FROM pg_indexes WHERE indexname = 'task_run_cache_key'`;
    expect(index.indexdef).toBe("CREATE INDEX task_run_cache_key ON public.task_run USING btree (cache_key, state, state_timestamp) WHERE (cache_key IS NOT NULL)");
  });

  test("the migrated template has the claim's index and the race-free unique keys", async () => {
    const db = await postgresDatabase();
    databases.push(db);
    const sql = new SQL({ url: db.url, max: 1 });
    pools.push(sql);
    const rows = await sql`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`;
    const names = rows.map((r: { indexname: string }) => r.indexname);
    for (const name of ["flow_run_due", "agent_identity", "flow_run_idempotency", "flow_flow_group_id_version_key", "task_run_flow_run_id_task_slug_map_index_key"]) {
      expect(names).toContain(name);
    }
  });
});

describePostgres("connecting to PostgreSQL", () => {
  let cluster: Awaited<ReturnType<typeof postgresCluster>>;
  beforeAll(async () => {
    cluster = await postgresCluster();
  });

  test("a refused connection is one Unavailable line naming host:port/database, never the password", async () => {
    // The cluster's port with nothing on a neighbour is not guaranteed; port 1 on 127.0.0.1 refuses.
    const error = await connectPostgres("postgres://alice:s3cret-pw@127.0.0.1:1/prefect").catch((e) => e);
    expect(error).toBeInstanceOf(PrefectliteError);
    expect(error.code).toBe("Unavailable");
    expect(error.message).toBe("cannot connect to postgres://alice@127.0.0.1:1/prefect: nothing accepted the connection (is PostgreSQL running there, and are the host and port right?)");
    expect(error.message).not.toContain("s3cret-pw");
  });

  test("a database that does not exist is one Unavailable line", async () => {
    const url = cluster.url.replace(/\/postgres$/, "/no_such_db");
    const error = await connectPostgres(url).catch((e) => e);
    expect(error.code).toBe("Unavailable");
    expect(error.message).toStartWith(`cannot connect to postgres://postgres@127.0.0.1:${cluster.port}/no_such_db: `);
    expect(error.message).toContain("no_such_db");
    expect(error.message).not.toContain("\n");
  });

  test("a working URL connects; the pool size comes from ?max=", async () => {
    const { sql, target } = await connectPostgres(`${cluster.url}?max=3`);
    try {
      expect(target.max).toBe(3);
      expect(target.description).toBe(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`);
      const [{ one }] = await sql`SELECT 1 AS one`;
      expect(one).toBe(1);
    } finally {
      await sql.close();
    }
  });
});

test("a malformed database URL is a Usage error that says what is wrong", () => {
  const bad = (url: string) => {
    try {
      parsePostgresUrl(url);
    } catch (e) {
      return e as PrefectliteError;
    }
    throw new Error(`accepted ${url}`);
  };
  expect(bad("postgres://[oops/db").message).toBe("the database URL is not a valid URL (expected postgres://user[:password]@host[:port]/database)");
  expect(bad("postgres:///db").message).toBe("the database URL names no host (expected postgres://user@host[:port]/database)");
  expect(bad("mysql://h/db").message).toBe("the database URL must start with postgres:// or postgresql:// (got mysql://)");
  expect(bad("postgres://u:pw@h/db?max=0").message).toBe("the database URL's max=0 is not a whole number ≥ 2");
  // A loop pass holds one connection (its advisory lock) while its writes take another.
  expect(bad("postgres://u:pw@h/db?max=1").message).toBe("the database URL's max=1 is not a whole number ≥ 2");
  expect(bad("postgres://u:pw@h/db?max=0").code).toBe("Usage");
});

test("the pool size defaults to PREFECTLITE_DB_POOL, then 10", () => {
  const previous = process.env.PREFECTLITE_DB_POOL;
  try {
    delete process.env.PREFECTLITE_DB_POOL;
    expect(parsePostgresUrl("postgres://u@h/db").max).toBe(10);
    process.env.PREFECTLITE_DB_POOL = "4";
    expect(parsePostgresUrl("postgres://u:secret@h:6543/db").max).toBe(4);
    expect(parsePostgresUrl("postgres://u:secret@h:6543/db").description).toBe("postgres://u@h:6543/db");
  } finally {
    if (previous === undefined) delete process.env.PREFECTLITE_DB_POOL;
    else process.env.PREFECTLITE_DB_POOL = previous;
  }
});
