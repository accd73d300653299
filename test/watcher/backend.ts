import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { openBackend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { sqlOn, type SqlRunner } from "../storage-helpers.ts";

/**
 * A BackendClient over the real schema and services on a fresh database, in-process (the
 * runtime's embedded transport), SQL on a connection of its own for assertions, and `close`
 * for both.
 */
export async function openClient(): Promise<{ client: BackendClient; sql: SqlRunner; close(): Promise<void> }> {
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), "prefectlite-watch-db-")), "prefectlite.db")}`;
  const backend = await openBackend(url);
  const raw = sqlOn(url);
  return {
    client: new BackendClient(embeddedBackend(backend)),
    sql: raw.sql,
    async close() {
      raw.close();
      await backend.close();
    },
  };
}
