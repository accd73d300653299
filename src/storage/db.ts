import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { migrate } from "./migrate.ts";

export type { Database };

/**
 * Open (creating if needed) the database file: WAL, synchronous=NORMAL (a commit survives a
 * process crash; the last commits may be lost on power loss), foreign keys, a busy timeout so
 * several processes can share the file, and the schema migrated.
 */
export function openDatabase(path: string): Database {
  let db: Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { create: true, strict: true });
  } catch (e) {
    throw new PrefectliteError("Unavailable", `cannot open the database ${path}: ${errorMessage(e)}`);
  }
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  try {
    migrate(db);
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
