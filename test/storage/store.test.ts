import { describe, expect, test } from "bun:test";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createSqliteStore } from "../../src/storage/sqlite/store.ts";

describe("the SQLite store", () => {
  test("the store of a database is built once, so its prepared statements are reused", () => {
    const db = openDatabase(":memory:");
    expect(createSqliteStore(db)).toBe(createSqliteStore(db));
    db.close();
  });
});
