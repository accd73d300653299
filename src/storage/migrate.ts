import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../core/errors.ts";
import * as m0001 from "./migrations/0001-initial.ts";

/** Migrations in order; the database's `user_version` is the number applied. Embedded in the binary. */
const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  { version: 1, name: "initial", sql: m0001.sql },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Bring the schema up to date; a database written by a newer prefectlite is refused. */
export function migrate(db: Database): void {
  const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > LATEST_SCHEMA_VERSION) {
    throw new PrefectliteError(
      "Validation",
      `the database was written by a newer prefectlite (schema ${current}, this one knows up to ${LATEST_SCHEMA_VERSION}): upgrade prefectlite`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
    }).immediate();
  }
}
