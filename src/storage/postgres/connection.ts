/**
 * Opening PostgreSQL through Bun's built-in client from a postgres:// URL, and what its errors mean.
 * Nothing printed or thrown here carries the password.
 */
import { SQL } from "bun";
import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import { settings } from "../../settings.ts";

export type { SQL };

export interface PostgresTarget {
  /** The URL handed to the client (without our own `max` parameter). */
  url: string;
  /** `user@host:port/database`: safe to print. */
  description: string;
  /** Connections in the pool: `?max=` of the URL, else PREFECTLITE_DB_POOL (default 10). */
  max: number;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Parse and check a postgres:// URL; a malformed one is a Usage error naming what is wrong (never echoing the password). */
export function parsePostgresUrl(raw: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PrefectliteError("Usage", "the database URL is not a valid URL (expected postgres://user[:password]@host[:port]/database)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new PrefectliteError("Usage", `the database URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`);
  }
  if (!url.hostname) throw new PrefectliteError("Usage", "the database URL names no host (expected postgres://user@host[:port]/database)");
  // At least 2: a loop pass holds one connection for its advisory lock while its writes take others.
  let max = settings.databasePool();
  if (!Number.isSafeInteger(max) || max < 2) throw new PrefectliteError("Usage", `PREFECTLITE_DB_POOL=${max} is not a whole number ≥ 2`);
  const maxParam = url.searchParams.get("max");
  if (maxParam !== null) {
    const n = Number(maxParam);
    if (!Number.isSafeInteger(n) || n < 2) throw new PrefectliteError("Usage", `the database URL's max=${maxParam} is not a whole number ≥ 2`);
    max = n;
    url.searchParams.delete("max");
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username) || "postgres";
  const user = url.username ? `${decodeURIComponent(url.username)}@` : "";
  const port = url.port || "5432";
  return { url: url.toString(), description: `postgres://${user}${url.hostname}:${port}/${database}`, max };
}

/**
 * A pool on the database, with one round trip made so that a wrong host, port, database or
 * password fails here: Unavailable, one line naming host:port/database.
 */
export async function connectPostgres(raw: string, options: { max?: number } = {}): Promise<{ sql: SQL; target: PostgresTarget }> {
  const target = parsePostgresUrl(raw);
  const sql = new SQL({ url: target.url, max: options.max ?? target.max, connectionTimeout: 10, idleTimeout: 60 });
  try {
    await sql`SELECT 1`;
  } catch (e) {
    await sql.close().catch(() => {});
    throw new PrefectliteError("Unavailable", `cannot connect to ${target.description}: ${connectionFailureReason(e, raw)}`, { cause: e });
  }
  return { sql, target };
}

/** Why a connection failed, on one line, with the URL's password (if any) blanked out. */
function connectionFailureReason(error: unknown, raw: string): string {
  let text = errorMessage(error).split("\n")[0]!.trim() || "connection failed";
  const password = (() => {
    try {
      return decodeURIComponent(new URL(raw).password);
    } catch {
      return "";
    }
  })();
  if (password) text = text.split(password).join("***");
  const code = (error as { code?: unknown }).code;
  if (code === "ERR_POSTGRES_CONNECTION_REFUSED" || /ECONNREFUSED|connection refused/i.test(text)) {
    return "nothing accepted the connection (is PostgreSQL running there, and are the host and port right?)";
  }
  return text;
}

/** The SQLSTATE of a PostgreSQL server error (e.g. "23505"), or undefined for anything else. */
export function sqlState(error: unknown): string | undefined {
  const e = error as { errno?: unknown; code?: unknown } | null;
  if (typeof e?.errno === "string" && /^[0-9A-Z]{5}$/.test(e.errno)) return e.errno;
  return undefined;
}

/** A unique violation (23505), with the constraint or unique index it hit; undefined otherwise. */
export function uniqueViolation(error: unknown): { constraint: string } | undefined {
  if (sqlState(error) !== "23505") return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return { constraint: typeof constraint === "string" ? constraint : "" };
}

/** A serialization failure (40001) or deadlock (40P01): the whole transaction may be retried. */
export function isRetryableTransactionError(error: unknown): boolean {
  const state = sqlState(error);
  return state === "40001" || state === "40P01";
}
