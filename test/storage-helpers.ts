import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openStorage, type OpenStorageOptions, type Storage } from "../src/storage/open.ts";
import type { Store } from "../src/storage/store.ts";
import { sqlitePathOf } from "../src/settings.ts";

/** The databases the storage tests run on ("sqlite" now; PREFECTLITE_TEST_STORE picks one). */
export type StoreKind = "sqlite";

export function testStoreKind(): StoreKind {
  const kind = process.env.PREFECTLITE_TEST_STORE ?? "sqlite";
  if (kind !== "sqlite") throw new Error(`PREFECTLITE_TEST_STORE=${kind}: this build's tests know only "sqlite"`);
  return kind;
}

export interface TestStorage {
  storage: Storage;
  store: Store;
  /** Where the database is (a URL openStorage takes). */
  url: string;
  /** Run one SQL statement on a connection of its own (assertions and test setup), its rows. */
  sql<T = Record<string, unknown>>(query: string, params?: Record<string, unknown> | unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A fresh, migrated database of `kind` in a temp folder. */
export async function openTestStorage(kind: StoreKind = testStoreKind(), options: OpenStorageOptions = {}): Promise<TestStorage> {
  void kind;
  const path = join(mkdtempSync(join(tmpdir(), "prefectlite-store-")), "prefectlite.db");
  const url = `sqlite:${path}`;
  const storage = await openStorage(url, options);
  let raw: Database | undefined;
  return {
    storage,
    store: storage.store,
    url,
    async sql<T>(query: string, params: Record<string, unknown> | unknown[] = []) {
      raw ??= rawConnection(path);
      const statement = raw.query(query);
      return (Array.isArray(params) ? statement.all(...(params as never[])) : statement.all(params as never)) as T[];
    },
    async close() {
      raw?.close();
      await storage.close();
      rmSync(dirname(path), { recursive: true, force: true });
    },
  };
}

/** The SQL of one statement on a connection of its own, its rows (assertions and test setup). */
export type SqlRunner = <T = Record<string, unknown>>(query: string, params?: Record<string, unknown> | unknown[]) => Promise<T[]>;

/**
 * SQL on a database something else opened (a backend, a server process) at `url`, on a
 * connection of its own that opens at the first statement; `close` ends it.
 */
export function sqlOn(url: string): { sql: SqlRunner; close(): void } {
  const path = sqlitePathOf(url);
  if (path === undefined || path === ":memory:") throw new Error(`sqlOn: ${url} is not a SQLite file`);
  let raw: Database | undefined;
  return {
    async sql<T>(query: string, params: Record<string, unknown> | unknown[] = []) {
      raw ??= rawConnection(path);
      const statement = raw.query(query);
      return (Array.isArray(params) ? statement.all(...(params as never[])) : statement.all(params as never)) as T[];
    },
    close() {
      raw?.close();
      raw = undefined;
    },
  };
}

function rawConnection(path: string): Database {
  const db = new Database(path, { strict: true });
  db.exec("PRAGMA busy_timeout = 10000");
  return db;
}
