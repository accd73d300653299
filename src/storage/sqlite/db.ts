import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "./migrate.ts";

export type { Database };

/**
 * How long a statement waits for another connection's write lock before failing SQLITE_BUSY. The
 * wait blocks the thread (SQLite sleeps in it): fine for a run's process or a CLI command, not
 * for `serve`, whose event loop answers everyone — it sets SERVE_BUSY_TIMEOUT_MS and retries
 * asynchronously instead (group-commit.ts).
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** serve's busy timeout: the longest its event loop waits for the lock in one go. */
export const SERVE_BUSY_TIMEOUT_MS = 20;

export function setBusyTimeout(db: Database, ms: number): void {
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`);
}

/** SQLITE_BUSY (and its extended codes): another connection held the write lock past the busy timeout. */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/** The error a caller sees for SQLITE_BUSY: Unavailable, which clients retry. */
export function databaseBusyError(): PrefectliteError {
  return new PrefectliteError("Unavailable", "the database is busy: another process held its write lock too long; try again");
}

/**
 * Open (creating if needed) the database file: WAL, synchronous=NORMAL (a commit survives a
 * process crash; the last commits may be lost on power loss), foreign keys, a busy timeout so
 * several processes can share the file, and the schema migrated.
 */
export function openDatabase(path: string, options: { migrate?: boolean } = {}): Database {
  let db: Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { create: true, strict: true });
  } catch (e) {
    throw new PrefectliteError("Unavailable", `cannot open the database ${path}: ${errorMessage(e)}`);
  }
  setBusyTimeout(db, DEFAULT_BUSY_TIMEOUT_MS);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  try {
    if (options.migrate === false) refuseIfBehind(db);
    else migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  // Savepoint journals (a savepoint per grouped write, see group-commit.ts) in memory: on disk
  // they cost a pwrite per page each write touches, ~40 per flow run created. Set after the
  // migrations, whose index builds on a large database may sort more than fits in memory.
  db.exec("PRAGMA temp_store = MEMORY");
  return db;
}

function refuseIfBehind(db: Database): void {
  const current = schemaVersion(db);
  if (current < LATEST_SCHEMA_VERSION) {
    throw new PrefectliteError(
      "Validation",
      `the database's schema (${current}) is older than this prefectlite's (${LATEST_SCHEMA_VERSION}): run \`prefectlite db migrate --database URL\` first`,
    );
  }
  if (current > LATEST_SCHEMA_VERSION) migrate(db); // refuses it, saying why
}

/** A read-only second connection to a database file (the query engine's), in WAL mode like the writer. */
export function openReadConnection(path: string): Database {
  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
  } catch (e) {
    throw new PrefectliteError("Unavailable", `cannot open the database ${path}: ${errorMessage(e)}`);
  }
  setBusyTimeout(db, DEFAULT_BUSY_TIMEOUT_MS);
  return db;
}
