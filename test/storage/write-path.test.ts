/**
 * The write path's two throughput devices: group commit in the write queue (writes arriving
 * together share one transaction, each rolled back alone) and WAL checkpoints on a worker thread.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { CHANGES_PER_CHECKPOINT, CHECK_MS, SAFETY_AUTOCHECKPOINT_PAGES, startBackgroundCheckpoints } from "../../src/storage/sqlite/checkpoints.ts";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createWriteQueue } from "../../src/storage/sqlite/write-queue.ts";
import { tempDir } from "../helpers.ts";

function openScratch(): { db: Database; path: string } {
  const path = join(tempDir("prefectlite-write-path-"), "scratch.db");
  const db = openDatabase(path);
  db.exec("CREATE TABLE scratch (n INTEGER NOT NULL, payload TEXT)");
  return { db, path };
}

const numbers = (db: Database) => (db.query("SELECT n FROM scratch ORDER BY n").all() as Array<{ n: number }>).map((r) => r.n);

describe("group commit", () => {
  test("writes queued together commit in one transaction; one that throws rolls back alone", async () => {
    const { db, path } = openScratch();
    const other = new Database(path);
    const group = createWriteQueue(db);
    const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
    const seenByOther: number[][] = [];
    const outcomes = await Promise.allSettled([
      group.run(async () => (insert.run({ n: 1 }), "one")),
      group.run(async () => {
        insert.run({ n: 2 });
        throw new Error("refused");
      }),
      group.run(async () => {
        // Still inside the group's transaction: another connection sees nothing yet.
        seenByOther.push((other.query("SELECT n FROM scratch").all() as Array<{ n: number }>).map((r) => r.n));
        expect(db.inTransaction).toBe(true);
        insert.run({ n: 3 });
        return "three";
      }),
    ]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message))).toEqual(["one", "refused", "three"]);
    expect(seenByOther).toEqual([[]]);
    expect(numbers(db)).toEqual([1, 3]);
    expect(numbers(other)).toEqual([1, 3]);
    expect(db.inTransaction).toBe(false);
    other.close();
  });

  test("a large burst is split into groups of at most the limit, in order", async () => {
    const { db } = openScratch();
    const group = createWriteQueue(db, { maxGroup: 4 });
    const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
    const transactions = new Set<number>();
    let transaction = 0;
    const marker = db.prepare("SELECT COUNT(*) AS c FROM scratch");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        group.run(async () => {
          // A new group begins when the rows counted so far are a multiple of the limit.
          if ((marker.get() as { c: number }).c % 4 === 0) transaction++;
          transactions.add(transaction);
          insert.run({ n });
          return n;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(numbers(db)).toEqual(results);
    expect(transactions.size).toBe(3);
  });
});

test("group commit: a group that cannot begin (another connection holds the write lock) fails each write with Unavailable", async () => {
  const { db, path } = openScratch();
  db.exec("PRAGMA busy_timeout = 50");
  const holder = new Database(path);
  holder.exec("BEGIN IMMEDIATE");
  // busyWaitMs 0: a command's queue, failing on the first busy BEGIN (after the connection's busy timeout).
  const group = createWriteQueue(db, { busyWaitMs: 0 });
  const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
  const outcomes = await Promise.allSettled([group.run(async () => insert.run({ n: 1 })), group.run(async () => insert.run({ n: 2 }))]);
  expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as { code?: string }).code : "written"))).toEqual(["Unavailable", "Unavailable"]);
  holder.exec("ROLLBACK");
  holder.close();
  expect(db.inTransaction).toBe(false);
  expect(await group.run(async () => insert.run({ n: 3 }).changes)).toBe(1);
  expect(numbers(db)).toEqual([3]);
});

test("group commit: a write that awaits something other than the store is refused and its writes rolled back", async () => {
  const { db } = openScratch();
  const group = createWriteQueue(db);
  const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
  const refused = await group
    .run(async () => {
      insert.run({ n: 1 });
      // Long enough that the end of the turn is seen first however busy the machine (a timer due
      // sooner can run before the queue's end-of-turn check, and the write is then accepted late:
      // the check is best-effort, the write never leaves its own savepoint either way).
      await Bun.sleep(200);
      return "late";
    })
    .catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: "Internal", message: expect.stringMatching(/^a write transaction must settle within its turn of the event loop/) });
  await Bun.sleep(250);
  expect(numbers(db)).toEqual([]);
});

test("group commit: closing commits what is queued, then refuses new writes with one clear line", async () => {
  const { db } = openScratch();
  const group = createWriteQueue(db);
  const insert = db.prepare("INSERT INTO scratch (n) VALUES ($n)");
  const queued = group.run(async () => insert.run({ n: 1 }).changes);
  await group.close();
  expect(numbers(db)).toEqual([1]);
  expect(await queued).toBe(1);
  db.close(); // the flush scheduled before close() finds nothing to do
  await Bun.sleep(5);
  const refused = await group.run(async () => 0).catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: "Unavailable", message: "the server is shutting down: the write was not made" });
});

describe("background checkpoints", () => {
  test("a worker thread copies the WAL into the database file while this connection keeps writing", async () => {
    const { db, path } = openScratch();
    const checkpoints = startBackgroundCheckpoints(db, path);
    try {
      const before = statSync(path).size;
      const insert = db.prepare("INSERT INTO scratch (n, payload) VALUES ($n, $payload)");
      const payload = "x".repeat(1000);
      // ~2 MB: far below this connection's own threshold, so only the worker checkpoints it.
      expect(2_000 * 1000).toBeLessThan(SAFETY_AUTOCHECKPOINT_PAGES * 4096);
      db.transaction(() => {
        for (let n = 0; n < 2_000; n++) insert.run({ n, payload });
      })();
      const deadline = Date.now() + 10_000;
      while (statSync(path).size < before + 1_000_000 && Date.now() < deadline) await Bun.sleep(50);
      expect(statSync(path).size).toBeGreaterThan(before + 1_000_000);
    } finally {
      checkpoints.stop();
      db.close();
    }
  });

  test("a trickle of writes is not checkpointed at every check (an idle server does not fsync for each heartbeat)", async () => {
    const { db, path } = openScratch();
    const checkpoints = startBackgroundCheckpoints(db, path);
    try {
      const insert = db.prepare("INSERT INTO scratch (n, payload) VALUES ($n, $payload)");
      insert.run({ n: 1, payload: "x".repeat(1000) });
      const before = statSync(path).size;
      for (let n = 2; n < 10; n++) {
        insert.run({ n, payload: "x".repeat(1000) });
        await Bun.sleep(CHECK_MS / 2);
      }
      await Bun.sleep(CHECK_MS * 2);
      expect(statSync(path).size).toBe(before); // still in the WAL: fewer than CHANGES_PER_CHECKPOINT rows, within TRICKLE_MS
      expect(9).toBeLessThan(CHANGES_PER_CHECKPOINT);
    } finally {
      checkpoints.stop();
      db.close();
    }
  });
});
