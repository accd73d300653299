/**
 * PostgreSQL for tests: one throwaway cluster per `bun test` process (scripts/pg-cluster.ts),
 * started by the first test file that asks and stopped when the process ends (also when it
 * crashes or is killed: a watchdog shell stops it when our end of its stdin pipe closes). Each
 * test file gets a fresh database copied from a migrated template.
 *
 *   import { POSTGRES_AVAILABLE, describePostgres, postgresDatabase } from "../postgres.ts";
 *   describePostgres("…", () => { let db; beforeAll(async () => { db = await postgresDatabase(); }); afterAll(() => db.drop()); … });
 *
 * Without Debian's PostgreSQL binaries the PostgreSQL tests are skipped, with one message.
 */
import { describe } from "bun:test";
import { SQL } from "bun";
import { findPostgresBin, startCluster, stopCluster, stopOnParentExitCommand, type PgCluster } from "../scripts/pg-cluster.ts";
import { migratePostgres } from "../src/storage/postgres/migrate.ts";

export const POSTGRES_AVAILABLE = findPostgresBin() !== undefined;

export const POSTGRES_MISSING =
  "skipping the PostgreSQL tests: no /usr/lib/postgresql/*/bin/initdb (install it with `apt-get install -y postgresql`; .ci/run does this on CI)";

/** `describe`, skipped (with the one message) when PostgreSQL is not installed. */
export const describePostgres = describe.skipIf(!POSTGRES_AVAILABLE);

export interface TestCluster extends PgCluster {
  /** A pool on the cluster's `postgres` database, for CREATE/DROP DATABASE. */
  admin: SQL;
}

export interface TestDatabase {
  /** postgres://postgres@127.0.0.1:PORT/NAME */
  url: string;
  name: string;
  /** Drop the database (closing any connection still open on it). */
  drop(): Promise<void>;
}

const TEMPLATE = "prefectlite_tmpl";

// Kept on globalThis: bun test may evaluate this module once per test file, and the cluster
// (and the one skip message) are per process.
interface ProcessState {
  cluster?: Promise<TestCluster>;
  template?: Promise<void>;
  warned?: boolean;
  databases: number;
}
const state: ProcessState = ((globalThis as { __prefectlitePostgres?: ProcessState }).__prefectlitePostgres ??= { databases: 0 });

if (!POSTGRES_AVAILABLE && !state.warned) {
  state.warned = true;
  console.warn(POSTGRES_MISSING);
}

async function start(): Promise<TestCluster> {
  const cluster = await startCluster();
  const watchdog = Bun.spawn(stopOnParentExitCommand(cluster), { stdin: "pipe", stdout: "ignore", stderr: "ignore" });
  watchdog.unref();
  process.once("exit", () => {
    try {
      stopCluster(cluster.dir, "immediate");
    } catch {
      // the watchdog stops it when our end of its pipe closes
    }
  });
  const admin = new SQL({ url: cluster.url, max: 2 });
  return { ...cluster, admin };
}

/** The process's cluster, started on first use. */
export function postgresCluster(): Promise<TestCluster> {
  if (!POSTGRES_AVAILABLE) return Promise.reject(new Error(POSTGRES_MISSING));
  return (state.cluster ??= start());
}

function databaseUrl(cluster: PgCluster, name: string): string {
  return cluster.url.replace(/\/postgres$/, `/${name}`);
}

async function migratedTemplate(cluster: TestCluster): Promise<void> {
  await cluster.admin.unsafe(`CREATE DATABASE ${TEMPLATE}`);
  const sql = new SQL({ url: databaseUrl(cluster, TEMPLATE), max: 1 });
  try {
    await migratePostgres(sql);
  } finally {
    await sql.close();
  }
}

/**
 * A fresh database of its own: migrated to this checkout's schema (copied from a template
 * migrated once per process), or empty with `{ migrated: false }`.
 */
export async function postgresDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const cluster = await postgresCluster();
  const migrated = options.migrated ?? true;
  if (migrated) await (state.template ??= migratedTemplate(cluster));
  const name = `t${process.pid}_${++state.databases}`;
  await cluster.admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${migrated ? TEMPLATE : "template0"}`);
  return {
    url: databaseUrl(cluster, name),
    name,
    drop: async () => {
      await cluster.admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
