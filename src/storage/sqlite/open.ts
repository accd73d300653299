import type { Database } from "bun:sqlite";
import { settings } from "../../settings.ts";
import type { OpenStorageOptions, ReadQueries, Storage } from "../open.ts";
import { createQueryEngine, type QueryEngine } from "../query.ts";
import { startBackgroundCheckpoints } from "./checkpoints.ts";
import { openDatabase, openReadConnection, SERVE_BUSY_TIMEOUT_MS, setBusyTimeout } from "./db.ts";
import { createSqliteStore } from "./store.ts";
import type { WriteQueue } from "./write-queue.ts";

/**
 * A SQLite database file (or ":memory:") as Storage: the writer connection with its store and
 * write queue, and WAL checkpoints off the write path.
 *
 * role "server" (serve): a short busy timeout, and a busy write lock is waited out
 * asynchronously (PREFECTLITE_DATABASE_BUSY_WAIT_SECONDS); the read side (GraphQL, the UI) on a
 * second, read-only connection, which sees only committed data and never waits for the write
 * queue. "command": the connection's long busy timeout, then the write fails Unavailable; reads
 * share the writer's connection (waiting while a group's transaction is open): a command reads
 * little and briefly, and a second connection's cold page cache cost a 10,000-row read 20%.
 */
export async function openSqliteStorage(path: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const db = openDatabase(path, { migrate: options.migrate });
  const server = options.role === "server";
  if (server) setBusyTimeout(db, SERVE_BUSY_TIMEOUT_MS);
  const memory = path === ":memory:";
  const checkpoints = memory ? undefined : startBackgroundCheckpoints(db, path);
  const store = createSqliteStore(db, { busyWaitMs: server ? settings.databaseBusyWaitSeconds() * 1000 : 0, groupAcrossTurn: server });
  let reader: Database | undefined;
  try {
    reader = memory || !server ? undefined : openReadConnection(path);
  } catch (e) {
    checkpoints?.stop();
    db.close();
    throw e;
  }
  const query = promisedQueries(createQueryEngine(reader ?? db), reader ? undefined : store.writes);
  let closed = false;
  return {
    dialect: "sqlite",
    description: memory ? "sqlite::memory:" : path,
    store,
    query,
    async close() {
      if (closed) return;
      closed = true;
      await store.writes.close();
      checkpoints?.stop();
      reader?.close();
      db.close();
    },
  };
}

/**
 * The query engine's reads. On the writer's connection (":memory:"), a read waits while a
 * group's transaction is open, so that it never sees writes that may yet roll back.
 */
function promisedQueries(engine: QueryEngine, writes: WriteQueue | undefined): ReadQueries {
  if (!writes) return engine;
  const read =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      writes.busy ? writes.idle().then(() => method(...args)) : method(...args);
  return {
    select: read(engine.select),
    byPk: read(engine.byPk),
    count: read(engine.count),
    selectRelated: read(engine.selectRelated),
    countRelated: read(engine.countRelated),
    aggregate: read(engine.aggregate),
    aggregateRelated: read(engine.aggregateRelated),
    check: engine.check,
    queryPlan: read(engine.queryPlan),
  };
}
