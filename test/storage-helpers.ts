import { describe, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openStorage, type OpenStorageOptions, type Storage } from "../src/storage/open.ts";
import type { Store } from "../src/storage/store.ts";
import { sqlitePathOf } from "../src/settings.ts";
import { POSTGRES_AVAILABLE, postgresDatabase } from "./postgres.ts";

/** The databases the storage tests run on. */
export type StoreKind = "sqlite" | "postgres";

/** The backends a suite runs on: SQLite always, PostgreSQL when its binaries are installed (else test/postgres.ts says once why not). */
export const TEST_BACKENDS: readonly StoreKind[] = POSTGRES_AVAILABLE ? ["sqlite", "postgres"] : ["sqlite"];

/** The default kind of `openTestStorage()`: PREFECTLITE_TEST_STORE, else SQLite. */
export function testStoreKind(): StoreKind {
  const kind = process.env.PREFECTLITE_TEST_STORE ?? "sqlite";
  if (kind !== "sqlite" && kind !== "postgres") throw new Error(`PREFECTLITE_TEST_STORE=${kind}: the tests know "sqlite" and "postgres"`);
  return kind;
}

/** `describe("on sqlite" | "on postgres", …)` once per backend of TEST_BACKENDS. */
export function describeBackends(fn: (kind: StoreKind) => void): void {
  for (const kind of TEST_BACKENDS) describe(`on ${kind}`, () => fn(kind));
}

/**
 * `test` on every backend but `skipped`; there a skipped test whose name says why (a case that
 * is inherently about the other database: its SQL, its PRAGMAs, its query plans).
 */
export function skipOn(kind: StoreKind, skipped: StoreKind, reason: string): typeof test {
  if (kind !== skipped) return test;
  return ((name: string, fn: () => unknown, timeout?: number) =>
    test.skip(`${name} [skipped on ${skipped}: ${reason}]`, fn as () => void, timeout)) as unknown as typeof test;
}

/** The SQL of one statement on a connection of its own, its rows (assertions and test setup). */
export type SqlRunner = <T = Record<string, unknown>>(query: string, params?: Record<string, unknown> | unknown[]) => Promise<T[]>;

export interface TestStorage {
  kind: StoreKind;
  storage: Storage;
  store: Store;
  /** Where the database is (a URL openStorage takes). */
  url: string;
  /**
   * Run one SQL statement on a connection of its own (assertions and test setup), its rows.
   * Portable: params are named (`$id` with `{ id }`) or positional (`?` with an array), JSON
   * text for JSON columns; on PostgreSQL the rows come back as SQLite gives them (booleans 0/1,
   * times ISO text, JSON as text, bigint counts as numbers). Write portable SQL (TRUE/FALSE for
   * flags, aliases for subqueries).
   */
  sql: SqlRunner;
  close(): Promise<void>;
}

/** A fresh, migrated database of `kind` (SQLite: a file in a temp folder; PostgreSQL: a database of the test cluster, dropped on close). */
export async function openTestStorage(kind: StoreKind = testStoreKind(), options: OpenStorageOptions = {}): Promise<TestStorage> {
  if (kind === "postgres") {
    const database = await postgresDatabase();
    const storage = await openStorage(database.url, options);
    const raw = sqlOn(database.url);
    return {
      kind,
      storage,
      store: storage.store,
      url: database.url,
      sql: raw.sql,
      async close() {
        await raw.end();
        await storage.close();
        await database.drop();
      },
    };
  }
  const path = join(mkdtempSync(join(tmpdir(), "prefectlite-store-")), "prefectlite.db");
  const url = `sqlite:${path}`;
  const storage = await openStorage(url, options);
  const raw = sqlOn(url);
  return {
    kind,
    storage,
    store: storage.store,
    url,
    sql: raw.sql,
    async close() {
      raw.close();
      await storage.close();
      rmSync(dirname(path), { recursive: true, force: true });
    },
  };
}

/**
 * A fresh, migrated database of `kind` for something else to open by URL (a backend, a server):
 * SQLite, a file in a temp folder (the folder removed by `drop`); PostgreSQL, a database of the
 * test cluster (dropped by `drop`).
 */
export async function testDatabase(kind: StoreKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === "postgres") return postgresDatabase();
  const dir = mkdtempSync(join(tmpdir(), "prefectlite-store-"));
  return { url: `sqlite:${join(dir, "prefectlite.db")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * SQL on a database something else opened (a backend, a server process) at `url`, on a
 * connection of its own that opens at the first statement; `close` ends it (`end` waits for
 * that on PostgreSQL).
 */
export function sqlOn(url: string): { sql: SqlRunner; close(): void; end(): Promise<void> } {
  if (/^postgres(ql)?:\/\//i.test(url)) return postgresSqlOn(url);
  const path = sqlitePathOf(url);
  if (path === undefined || path === ":memory:") throw new Error(`sqlOn: ${url} is not a SQLite file`);
  let raw: Database | undefined;
  const close = () => {
    raw?.close();
    raw = undefined;
  };
  return {
    async sql<T>(query: string, params: Record<string, unknown> | unknown[] = []) {
      raw ??= rawConnection(path);
      const statement = raw.query(query);
      return (Array.isArray(params) ? statement.all(...(params as never[])) : statement.all(params as never)) as T[];
    },
    close,
    async end() {
      close();
    },
  };
}

function rawConnection(path: string): Database {
  const db = new Database(path, { strict: true });
  db.exec("PRAGMA busy_timeout = 10000");
  return db;
}

function postgresSqlOn(url: string): { sql: SqlRunner; close(): void; end(): Promise<void> } {
  let raw: SQL | undefined;
  const end = async () => {
    const open = raw;
    raw = undefined;
    await open?.close();
  };
  return {
    async sql<T>(query: string, params: Record<string, unknown> | unknown[] = []) {
      raw ??= new SQL({ url, max: 2, bigint: true });
      const { text, values } = positional(query, params);
      const rows = await raw.unsafe<Record<string, unknown>[]>(text, values.map(jsonParsed));
      return [...rows].map(sqliteShaped) as T[];
    },
    close() {
      void end();
    },
    end,
  };
}

/** `$name` (with an object) or `?` (with an array) as PostgreSQL's `$1…`, outside quoted text. */
function positional(query: string, params: Record<string, unknown> | unknown[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const named = new Map<string, number>();
  let i = 0;
  const text = query.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]\w*)|\?/g, (match, name: string | undefined) => {
    if (match.startsWith("'") || match.startsWith('"')) return match;
    if (name === undefined) {
      if (!Array.isArray(params)) throw new Error(`sql: "?" needs an array of params: ${query}`);
      values.push(params[i++]);
      return `$${values.length}`;
    }
    if (Array.isArray(params) || !(name in params)) throw new Error(`sql: no value for $${name}: ${query}`);
    if (!named.has(name)) {
      values.push(params[name]);
      named.set(name, values.length);
    }
    return `$${named.get(name)}`;
  });
  return { text, values };
}

/**
 * JSON text of an object or array, parsed: SQLite's TEXT columns take the text, PostgreSQL's jsonb
 * ones the value (Bun.SQL would store the text as one JSON string); a text column gets the text back.
 */
function jsonParsed(value: unknown): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A PostgreSQL row as bun:sqlite gives the same row of the SQLite schema. */
function sqliteShaped(row: Record<string, unknown>): Record<string, unknown> {
  const shaped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "bigint") shaped[key] = Number(value);
    else if (typeof value === "boolean") shaped[key] = value ? 1 : 0;
    else if (value instanceof Date) shaped[key] = value.toISOString();
    else if (value !== null && typeof value === "object") shaped[key] = JSON.stringify(value);
    else shaped[key] = value;
  }
  return shaped;
}
