import { AsyncLocalStorage } from "node:async_hooks";
import type { SQL, TransactionSQL } from "bun";
import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import { isRetryableTransactionError, sqlState } from "./connection.ts";

/**
 * Where a repository's statement runs: the transaction (or savepoint) the caller is inside,
 * found through AsyncLocalStorage, or else the pool (each statement its own transaction).
 */
export interface Session {
  /** Run one statement with `$1…$n` parameters; the rows it returns. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[] & { count: number }>;
  inTransaction(): boolean;
  /** One READ COMMITTED transaction; nested calls are savepoints; 40001/40P01 retry the whole fn. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Run `fn` outside any transaction of the caller (its statements use the pool). */
  outside<T>(fn: () => Promise<T>): Promise<T>;
  /** A runner of functions in the caller's present context (its transaction, or none), for use elsewhere. */
  capture(): <T>(fn: () => Promise<T>) => Promise<T>;
  /** The client statements run on now (the transaction's, or the pool). */
  client(): SQL;
}

/** Retries of a whole transaction after a serialization failure or a deadlock. */
export const TRANSACTION_RETRIES = 3;

const CONNECTION_CODES = new Set([
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_FAILED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
]);

/**
 * A lost or refused connection (or a server shutting down, or out of connections) as the
 * Unavailable error clients retry; undefined for any other error. A write whose connection was
 * lost may have committed: the retry's versioned write and write ids settle that.
 */
export function unavailableError(error: unknown): PrefectliteError | undefined {
  if (error instanceof PrefectliteError) return undefined;
  const code = (error as { code?: unknown } | null)?.code;
  const state = sqlState(error);
  const lost =
    (typeof code === "string" && CONNECTION_CODES.has(code)) ||
    (state !== undefined && (state.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03" || state === "53300"));
  if (!lost) return undefined;
  return new PrefectliteError("Unavailable", `the database is unreachable: ${errorMessage(error).split("\n")[0]}; try again`, { cause: error });
}

interface Context {
  sql: TransactionSQL;
  /** Savepoints of one transaction run one after another (one connection, one open savepoint chain). */
  savepoints: Promise<unknown>;
}

export function createSession(pool: SQL): Session {
  const als = new AsyncLocalStorage<Context | undefined>();
  const client = (): SQL => als.getStore()?.sql ?? pool;

  async function savepoint<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
    const run = () =>
      ctx.sql.savepoint(async (sp: TransactionSQL) => als.run({ sql: sp, savepoints: Promise.resolve() }, fn)) as Promise<T>;
    const turn = ctx.savepoints.then(run, run);
    ctx.savepoints = turn.catch(() => undefined);
    return turn;
  }

  async function transaction<T>(fn: () => Promise<T>): Promise<T> {
    const ctx = als.getStore();
    if (ctx) return savepoint(ctx, fn);
    for (let attempt = 0; ; attempt++) {
      try {
        return (await pool.begin(async (tx) => als.run({ sql: tx, savepoints: Promise.resolve() }, fn))) as T;
      } catch (e) {
        if (attempt >= TRANSACTION_RETRIES || !isRetryableTransactionError(e)) throw unavailableError(e) ?? e;
      }
    }
  }

  return {
    async query(text, values = []) {
      try {
        return (await client().unsafe(text, values)) as never;
      } catch (e) {
        throw unavailableError(e) ?? e;
      }
    },
    inTransaction: () => als.getStore() !== undefined,
    transaction,
    outside: (fn) => als.run(undefined, fn),
    capture() {
      const ctx = als.getStore();
      return (fn) => als.run(ctx, fn);
    },
    client,
  };
}
