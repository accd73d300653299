import type { QueryEngine } from "./query.ts";
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
