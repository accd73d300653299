import { PrefectliteError } from "../core/errors.ts";
import { sqlitePathOf } from "../settings.ts";
import type { QueryEngine } from "./query.ts";
import { openSqliteStorage } from "./sqlite/open.ts";
import type { Store, StoreDialect } from "./store.ts";

/**
 * The read side (GraphQL queries, UI) as storage hands it out: the query engine with every read
 * returning a promise (`check` only compiles, so it stays synchronous).
 */
export type ReadQueries = {
  [K in keyof QueryEngine]: K extends "check"
    ? QueryEngine[K]
    : (...args: Parameters<QueryEngine[K]>) => Promise<Awaited<ReturnType<QueryEngine[K]>>>;
};

export interface Storage {
  readonly dialect: StoreDialect;
  /** Where the data is, safe to print (no password). */
  readonly description: string;
  readonly store: Store;
  /** The read side (GraphQL queries, UI): async; on SQLite a second (read) connection when the file is not :memory:. */
  readonly query: ReadQueries;
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Migrate to this binary's schema (default true); false refuses a database that is behind. */
  migrate?: boolean;
  /** serve: short busy timeout + async busy retries on SQLite (today's SERVE_BUSY_TIMEOUT_MS). */
  role?: "server" | "command";
}

/**
 * Open the database at `url` — "sqlite:PATH", a plain PATH, ":memory:", or "postgres://…" /
 * "postgresql://…" — migrated (unless told not to), with its store and its read side. The only
 * way anything outside storage/ opens a database.
 */
export async function openStorage(url: string, options: OpenStorageOptions = {}): Promise<Storage> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let open: (url: string, options: OpenStorageOptions) => Promise<Storage>;
    try {
      // A variable specifier: the SQLite-only build does not need the PostgreSQL module to exist.
      const modulePath = "./postgres/store.ts";
      ({ openPostgresStorage: open } = (await import(modulePath)) as { openPostgresStorage: typeof open });
    } catch {
      throw new PrefectliteError("Usage", "PostgreSQL support is not built into this binary yet");
    }
    return open(url, options);
  }
  const path = sqlitePathOf(url);
  if (path === undefined) throw new PrefectliteError("Usage", `not a database URL: ${url}`);
  return openSqliteStorage(path, options);
}
