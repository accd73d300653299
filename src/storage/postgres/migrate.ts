/**
 * PostgreSQL's numbered migrations (this folder's migrations/*.sql, embedded in the binary), run
 * under one advisory lock so that replicas starting together migrate once: the others wait, then
 * find the work done. Each migration is one transaction that first records its number, so a
 * migrator not holding the lock fails on the duplicate number instead of applying it twice.
 */
import type { SQL } from "bun";
import { PrefectliteError } from "../../core/errors.ts";
import { uniqueViolation } from "./connection.ts";
import initial from "./migrations/0001-initial.sql" with { type: "text" };
import prefectServerColumns from "./migrations/0002-prefect-server-columns.sql" with { type: "text" };
import agentConfigsAndEdgeKeys from "./migrations/0003-agent-configs-and-edge-keys.sql" with { type: "text" };
import taskRunCacheKeys from "./migrations/0004-task-run-cache-key.sql" with { type: "text" };

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, name: "initial", sql: initial },
  { version: 2, name: "Prefect Server's columns and task run artifacts", sql: prefectServerColumns },
  { version: 3, name: "agent configs and edge keys as argument names", sql: agentConfigsAndEdgeKeys },
  { version: 4, name: "task run cache keys", sql: taskRunCacheKeys },
];

export const LATEST_POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied timestamptz NOT NULL DEFAULT now()
)`;

/** The newest migration applied to the database (0: none, or no prefectlite schema at all). */
export async function postgresSchemaVersion(sql: SQL): Promise<number> {
  const [exists] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!exists?.present) return 0;
  const [row] = await sql`SELECT COALESCE(MAX(version), 0)::int AS version FROM schema_migrations`;
  return Number(row?.version ?? 0);
}

function newerDatabaseError(current: number): PrefectliteError {
  return new PrefectliteError(
    "Validation",
    `the database was written by a newer prefectlite (schema ${current}, this one knows up to ${LATEST_POSTGRES_SCHEMA_VERSION}): upgrade prefectlite`,
  );
}

/** Refuse a database this binary cannot use as it is: newer, or (when it may not migrate) behind. */
export async function checkPostgresSchema(sql: SQL): Promise<void> {
  const current = await postgresSchemaVersion(sql);
  if (current > LATEST_POSTGRES_SCHEMA_VERSION) throw newerDatabaseError(current);
  if (current < LATEST_POSTGRES_SCHEMA_VERSION) {
    throw new PrefectliteError(
      "Validation",
      `the database's schema is ${current}, this prefectlite needs ${LATEST_POSTGRES_SCHEMA_VERSION}: run \`prefectlite db migrate --database URL\``,
    );
  }
}

/** Bring the schema up to date; returns the versions this call applied (none when another process did). */
export async function migratePostgres(sql: SQL): Promise<{ applied: number[] }> {
  const applied: number[] = [];
  const session = await sql.reserve();
  try {
    // A session lock on this one connection: held across the migrations' transactions.
    await session`SELECT pg_advisory_lock(hashtext('prefectlite:migrate'))`;
    try {
      await session.unsafe(SCHEMA_MIGRATIONS_DDL);
      const current = await postgresSchemaVersion(session);
      if (current > LATEST_POSTGRES_SCHEMA_VERSION) throw newerDatabaseError(current);
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= current) continue;
        try {
          await session.begin(async (tx) => {
            await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
            await tx.unsafe(m.sql);
          });
          applied.push(m.version);
        } catch (e) {
          if (uniqueViolation(e)?.constraint === "schema_migrations_pkey") continue; // applied by a racer meanwhile
          throw new PrefectliteError("Internal", `migration ${m.version} (${m.name}) failed, the database is left as it was: ${(e as Error).message}`, { cause: e });
        }
      }
    } finally {
      await session`SELECT pg_advisory_unlock(hashtext('prefectlite:migrate'))`;
    }
  } finally {
    session.release();
  }
  return { applied };
}
