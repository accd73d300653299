/**
 * The server acknowledges only committed writes: a grouped write settles after its group's
 * COMMIT, so what a writer was told is stored is there for every other connection (and
 * survives the server's process being killed right after it answered).
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createWriteQueue } from "../../src/storage/sqlite/write-queue.ts";
import { tempDir } from "../helpers.ts";

test("each grouped write settles only once another connection can read it", async () => {
  const path = join(tempDir("prefectlite-group-ack-"), "scratch.db");
  const db = openDatabase(path);
  db.exec("CREATE TABLE scratch (n INTEGER NOT NULL)");
  const other = new Database(path, { readonly: true });
  const group = createWriteQueue(db, { maxGroup: 2 });
  const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
  const visible = (n: number) => other.query("SELECT 1 FROM scratch WHERE n = $n").get({ $n: n }) !== null;
  const seen = await Promise.all([1, 2, 3, 4, 5].map((n) => group.run(async () => insert.run({ n })).then(() => visible(n))));
  expect(seen).toEqual([true, true, true, true, true]);
  other.close();
  await group.close();
  db.close();
});
