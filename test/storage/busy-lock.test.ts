/**
 * Another process's long write transaction does not stall this event loop: with a short busy
 * timeout (serve's), a grouped write waits the lock out asynchronously and commits once it is
 * released, or fails Unavailable ("the database is busy") after its bound; reads go on meanwhile.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { PrefectliteError } from "../../src/core/errors.ts";
import { SERVE_BUSY_TIMEOUT_MS, openDatabase, setBusyTimeout, type Database } from "../../src/storage/sqlite/db.ts";
import { createSqliteStore } from "../../src/storage/sqlite/store.ts";
import { createWriteQueue } from "../../src/storage/sqlite/write-queue.ts";
import { tempDir } from "../helpers.ts";

const HOLDER = join(import.meta.dir, "workers/hold-write-lock.ts");
const open: Database[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function scratchDatabase(): { db: Database; path: string } {
  const path = join(tempDir("prefectlite-busy-"), "prefectlite.db");
  const db = openDatabase(path);
  db.exec("CREATE TABLE scratch (n INTEGER NOT NULL)");
  setBusyTimeout(db, SERVE_BUSY_TIMEOUT_MS);
  open.push(db);
  return { db, path };
}

/** Start the lock holder; resolves once it holds the write lock, with a promise of its release. */
async function holdWriteLock(path: string, holdMs: number): Promise<{ released: Promise<number> }> {
  const child = Bun.spawn([process.execPath, HOLDER, path, String(holdMs)], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("held\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the lock holder ended before taking the lock: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const released = (async () => {
    while (!text.includes("released\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const code = await child.exited;
    if (!text.includes("released\n")) throw new Error(`the lock holder did not release the lock (exit ${code})`);
    return Date.now();
  })();
  return { released };
}

/** Count the ticks of a 10 ms interval until `until` settles. */
async function ticksDuring(until: Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    await until;
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

test("a grouped write waits out another process's 2 s write transaction without stalling the event loop, then commits", async () => {
  const { db, path } = scratchDatabase();
  const group = createWriteQueue(db, { busyWaitMs: 30_000 });
  const { released } = await holdWriteLock(path, 2000);
  let committedAt = 0;
  const write = group.run(async () => db.query("INSERT INTO scratch (n) VALUES (1)").run()).then(() => (committedAt = Date.now()));
  // The loop keeps turning (~200 ticks expected), and reads are not blocked by the other writer (WAL).
  const ticks = ticksDuring(released);
  await Bun.sleep(100);
  expect(db.query("SELECT count(*) AS n FROM scratch").get()).toEqual({ n: 0 });
  expect(committedAt).toBe(0);
  expect(await ticks).toBeGreaterThanOrEqual(20);
  await write;
  await released;
  expect(db.query("SELECT count(*) AS n FROM lock_holder").get()).toEqual({ n: 1 });
  expect(db.query("SELECT count(*) AS n FROM scratch").get()).toEqual({ n: 1 });
  await group.close();
});

test("past its bound, a write waiting for a busy lock fails Unavailable, 'the database is busy'; the next one goes through", async () => {
  const { db, path } = scratchDatabase();
  const group = createWriteQueue(db, { busyWaitMs: 200 });
  const { released } = await holdWriteLock(path, 1500);
  const error = await group.run(async () => db.query("INSERT INTO scratch (n) VALUES (1)").run()).catch((e) => e);
  expect(error).toBeInstanceOf(PrefectliteError);
  expect((error as PrefectliteError).code).toBe("Unavailable");
  expect((error as Error).message).toMatch(/^the database is busy/);
  await released;
  await group.run(async () => db.query("INSERT INTO scratch (n) VALUES (2)").run());
  expect(db.query("SELECT n FROM scratch").all()).toEqual([{ n: 2 }]);
  await group.close();
});

test("a store transaction that cannot take the lock within the busy timeout fails Unavailable, not SQLITE_BUSY", async () => {
  const { db, path } = scratchDatabase();
  // busyWaitMs 0 (a command's store): the connection's busy timeout is the only wait.
  const store = createSqliteStore(db, { busyWaitMs: 0 });
  const { released } = await holdWriteLock(path, 1000);
  let error: unknown;
  try {
    await store.transaction(async () => db.query("INSERT INTO scratch (n) VALUES (1)").run());
  } catch (e) {
    error = e;
  }
  expect((error as PrefectliteError).code).toBe("Unavailable");
  expect((error as Error).message).toMatch(/^the database is busy/);
  await released;
  expect(store.inTransaction()).toBe(false);
});
