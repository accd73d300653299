import type { Changes, Database, SQLQueryBindings } from "bun:sqlite";

/** A statement as the repositories use it (bun:sqlite's Statement). */
export interface Query<R = unknown, P extends SQLQueryBindings[] = SQLQueryBindings[]> {
  get(...params: P): R | null;
  all(...params: P): R[];
  run(...params: P): Changes;
}

/** What the repositories compile their statements with: `query` as bun:sqlite's Database's. */
export interface Queries {
  query<R = unknown, P extends SQLQueryBindings | SQLQueryBindings[] = SQLQueryBindings[]>(sql: string): Query<R, P extends unknown[] ? P : [P]>;
}

/**
 * The repositories' statements on `db`, each compiled (`db.query`, Bun's cache of compiled
 * statements) when it first runs. The store declares about a hundred: compiling them all when the
 * database opened was ~4 ms of CPU, paid by every command on the embedded database, which runs a
 * few of them. test/storage/sqlite-statements.test.ts compiles every one.
 */
export function lazyQueries(db: Database): Queries {
  return {
    query<R, P extends SQLQueryBindings[]>(sql: string): Query<R, P> {
      let compiled: Query<R, P> | undefined;
      const statement = () => (compiled ??= db.query<R, P>(sql) as unknown as Query<R, P>);
      return {
        get: (...params) => statement().get(...params),
        all: (...params) => statement().all(...params),
        run: (...params) => statement().run(...params),
      };
    },
  } as Queries;
}
