import { PrefectliteError } from "../core/errors.ts";
import { sqlitePathOf } from "../settings.ts";
import type { QueryEngine } from "./query.ts";
import { openSqliteStorage } from "./sqlite/open.ts";
import type { Store, StoreDialect } from "./store.ts";

/** The read side (GraphQL queries, UI) as storage hands it out: the async query engine. */
export type ReadQueries = QueryEngine;

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
    // Loaded only for a PostgreSQL URL: a SQLite command never pays for the PostgreSQL store.
    const { openPostgresStorage } = await import("./postgres/store.ts");
    return openPostgresStorage(url, options);
  }
  const path = sqlitePathOf(url);
  if (path === undefined) throw new PrefectliteError("Usage", `not a database URL: ${url}`);
  return openSqliteStorage(path, options);
}
