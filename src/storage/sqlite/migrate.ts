import type { Database } from "bun:sqlite";
import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import * as m0001 from "./migrations/0001-initial.ts";
import * as m0002 from "./migrations/0002-leaner-run-indexes.ts";
import * as m0003 from "./migrations/0003-partial-task-run-state-index.ts";
import * as m0004 from "./migrations/0004-unique-flow-version.ts";
import * as m0005 from "./migrations/0005-prefect-server-columns.ts";
import * as m0006 from "./migrations/0006-agent-configs-and-edge-keys.ts";
import * as m0007 from "./migrations/0007-task-run-cache-key.ts";

interface Migration {
  version: number;
  name: string;
  sql: string;
  /** It rebuilds tables: run with foreign keys off (dropping a parent would cascade), then checked. */
  foreignKeysOff?: boolean;
}

/** Migrations in order; the database's `user_version` is the number applied. Embedded in the binary. */
const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial", sql: m0001.sql },
  { version: 2, name: "leaner run indexes", sql: m0002.sql, foreignKeysOff: m0002.foreignKeysOff },
  { version: 3, name: "partial task-run state indexes", sql: m0003.sql },
  { version: 4, name: "unique flow versions", sql: m0004.sql },
  { version: 5, name: "Prefect Server's columns and task run artifacts", sql: m0005.sql },
  { version: 6, name: "agent configs and edge keys as argument names", sql: m0006.sql, foreignKeysOff: m0006.foreignKeysOff },
  { version: 7, name: "task run cache keys", sql: m0007.sql },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The number of migrations applied to the database. */
export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Bring the schema up to date; a database written by a newer prefectlite is refused. */
export function migrate(db: Database): void {
  const current = schemaVersion(db);
  if (current > LATEST_SCHEMA_VERSION) {
    throw new PrefectliteError(
      "Validation",
      `the database was written by a newer prefectlite (schema ${current}, this one knows up to ${LATEST_SCHEMA_VERSION}): upgrade prefectlite`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    const foreignKeys = (db.query("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys === 1;
    // A no-op inside a transaction: switched before it begins, and back after it ends.
    if (m.foreignKeysOff) db.exec("PRAGMA foreign_keys = OFF");
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.foreignKeysOff && (db.query("PRAGMA foreign_key_check").all() as unknown[]).length > 0) {
          throw new PrefectliteError("Internal", `migration ${m.version} (${m.name}) would break a foreign key: the database is left as it was`);
        }
        db.exec(`PRAGMA user_version = ${m.version}`);
      }).immediate();
    } catch (e) {
      if (e instanceof PrefectliteError) throw e;
      throw new PrefectliteError("Internal", `migration ${m.version} (${m.name}) failed: ${errorMessage(e)}; the database is left as it was`);
    } finally {
      if (m.foreignKeysOff && foreignKeys) db.exec("PRAGMA foreign_keys = ON");
    }
  }
}
