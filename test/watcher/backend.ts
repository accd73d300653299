import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { openBackend } from "../../src/runtime/backend.ts";
import { embeddedBackend } from "../../src/runtime/embedded-backend.ts";
import type { Database } from "../../src/storage/db.ts";

/** A BackendClient over the real services (and schema) on a fresh database, in-process: the runtime's embedded backend. */
export function openClient(): { client: BackendClient; db: Database } {
  const database = openBackend(join(mkdtempSync(join(tmpdir(), "prefectlite-watch-db-")), "prefectlite.db"));
  return { client: new BackendClient(embeddedBackend(database, { owns: true })), db: database.db };
}
