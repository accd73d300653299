import { AsyncLocalStorage } from "node:async_hooks";
import type { Database } from "bun:sqlite";
import type { RunsChanged, Store } from "../store.ts";
import { createAgentConfigRepository, createAgentRepository } from "./agents.ts";
import { createFlowRunRepository } from "./flow-runs.ts";
import { createFlowRepository } from "./flows.ts";
import { createLogRepository } from "./logs.ts";
import { createProjectRepository } from "./projects.ts";
import { createArtifactRepository } from "./artifacts.ts";
import { createSafeguardRepository } from "./safeguards.ts";
import { createScheduleRepository } from "./schedules.ts";
import type { Synchronous } from "./synchronous.ts";
import { createTaskRunRepository } from "./task-runs.ts";
import { lazyQueries } from "./lazy-queries.ts";
import { createWriteQueue, turnOverError, type WriteQueue, type WriteQueueOptions } from "./write-queue.ts";

/**
 * The SQLite store: today's synchronous repositories, each call wrapped in a promise, and every
 * write transaction a closure of the database's one write queue (write-queue.ts).
 *
 * Which transaction a call belongs to is the caller's async context (AsyncLocalStorage), not the
 * connection's state: while a group's transaction is open, other code may run between the
 * group's awaits (microtasks of unrelated requests). A repository call from outside every
 * transaction made then waits until the group has committed — it neither reads uncommitted
 * writes nor writes into someone else's transaction.
 */
export interface SqliteStore extends Store {
  readonly writes: WriteQueue;
}

interface TransactionContext {
  readonly depth: number;
  /** Runs-changed hints to deliver once the outermost transaction commits (allocated on the first). */
  events: RunsChanged[] | undefined;
  /**
   * The outermost transaction's fate, shared by every nested context: abandoned by the write
   * queue (it did not settle in its turn), every later call from any depth of it is refused.
   */
  readonly outermost: { dead: boolean };
  /** Nested transactions of this one, one after another (each is a savepoint). */
  tail: Promise<unknown> | undefined;
}

const stores = new WeakMap<Database, SqliteStore>();

/** The store of a database: built once per database, so its prepared statements and its write queue are shared. */
export function createSqliteStore(db: Database, options: WriteQueueOptions = {}): SqliteStore {
  const existing = stores.get(db);
  if (existing) return existing;
  const writes = createWriteQueue(db, options);
  const queries = lazyQueries(db);
  const context = new AsyncLocalStorage<TransactionContext>();
  const listeners = new Set<(hint: RunsChanged) => void>();
  const savepoints = new Map<number, { begin: () => void; release: () => void; rollback: () => void }>();

  function savepoint(depth: number) {
    let s = savepoints.get(depth);
    if (!s) {
      const name = `nested_${depth}`;
      const begin = db.prepare(`SAVEPOINT ${name}`);
      const release = db.prepare(`RELEASE ${name}`);
      const rollback = db.prepare(`ROLLBACK TO ${name}`);
      s = { begin: () => void begin.run(), release: () => void release.run(), rollback: () => void rollback.run() };
      savepoints.set(depth, s);
    }
    return s;
  }

  function deliver(events: readonly RunsChanged[]): void {
    for (const hint of events) {
      for (const listener of listeners) {
        try {
          listener(hint);
        } catch {
          // a listener never fails the write that told it
        }
      }
    }
  }

  /** Each repository method, returning a promise; see the comment on SqliteStore for when it waits. */
  function promised<R extends object>(repo: Synchronous<R>): R {
    const wrapped: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(repo)) {
      if (typeof method !== "function") continue;
      const call = (args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(repo, args);
      wrapped[name] = (...args: unknown[]) => {
        const ctx = context.getStore();
        if (ctx?.outermost.dead) return Promise.reject(turnOverError());
        if (!ctx && writes.busy) return writes.idle().then(() => call(args));
        try {
          return Promise.resolve(call(args));
        } catch (error) {
          return Promise.reject(error);
        }
      };
    }
    return wrapped as R;
  }

  function nested<T>(parent: TransactionContext, fn: () => Promise<T>): Promise<T> {
    const { outermost } = parent;
    const run = async (): Promise<T> => {
      if (outermost.dead) throw turnOverError();
      const ctx: TransactionContext = { depth: parent.depth + 1, events: undefined, outermost, tail: undefined };
      const sp = savepoint(ctx.depth);
      sp.begin();
      try {
        const value = await context.run(ctx, fn);
        if (outermost.dead) throw turnOverError();
        sp.release();
        if (ctx.events) (parent.events ??= []).push(...ctx.events);
        return value;
      } catch (error) {
        // An abandoned transaction's savepoints are gone: the write queue rolled it back.
        if (!outermost.dead) {
          sp.rollback();
          sp.release();
        }
        throw error;
      }
    };
    // Siblings one after another: their savepoints must not interleave.
    const result = parent.tail ? parent.tail.then(run, run) : run();
    parent.tail = result.catch(() => {});
    return result;
  }

  const store: SqliteStore = {
    dialect: "sqlite",
    writes,
    transaction<T>(fn: () => Promise<T>): Promise<T> {
      const parent = context.getStore();
      if (parent) return nested(parent, fn);
      const outermost = { dead: false };
      const ctx: TransactionContext = { depth: 0, events: undefined, outermost, tail: undefined };
      const committed = writes.run(
        () => context.run(ctx, fn),
        () => {
          outermost.dead = true;
        },
      );
      return committed.then((value) => {
        if (ctx.events) deliver(ctx.events);
        return value;
      });
    },
    inTransaction: () => {
      const ctx = context.getStore();
      return ctx !== undefined && !ctx.outermost.dead;
    },
    lock: {
      // Writers are serial on SQLite: the write lock is taken at BEGIN IMMEDIATE.
      flowGroup: async () => {},
      flow: async () => {},
      flowRun: async () => {},
      flowName: async () => {},
      agentConfig: async () => {},
    },
    events: {
      async runsChanged(hint) {
        const ctx = context.getStore();
        if (ctx) (ctx.events ??= []).push(hint);
        else deliver([hint]);
      },
      subscribe(listener, onReady) {
        listeners.add(listener);
        onReady?.();
        return () => void listeners.delete(listener);
      },
    },
    // One process per database file serves it (a second `serve` on the same file is the
    // operator's choice, and the writes are idempotent): every pass runs.
    exclusive: async (_loop, fn) => ({ ran: true, value: await fn() }),
    projects: promised(createProjectRepository(queries)),
    flows: promised(createFlowRepository(queries)),
    flowRuns: promised(createFlowRunRepository(queries)),
    taskRuns: promised(createTaskRunRepository(queries)),
    logs: promised(createLogRepository(queries)),
    agents: promised(createAgentRepository(queries)),
    agentConfigs: promised(createAgentConfigRepository(queries)),
    schedules: promised(createScheduleRepository(queries)),
    safeguards: promised(createSafeguardRepository(queries)),
    artifacts: promised(createArtifactRepository(queries)),
  };
  stores.set(db, store);
  return store;
}
