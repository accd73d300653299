import type { Database, Statement } from "bun:sqlite";
import { validationError } from "../core/errors.ts";
import {
  aggregateValues,
  checkArgs,
  compileAggregate,
  compileAggregateRelated,
  compileByPk,
  compileCount,
  compileCountRelated,
  compilePlanned,
  compileRelated,
  compileSelect,
  factsOf,
  type Compiled,
  type Compiler,
} from "./query-compile.ts";
import { SQLITE } from "./query-dialect.ts";
import { countsByKey, decodeRows, groupByKey } from "./query-rows.ts";
import { quote, relationOf, type SchemaFacts } from "./query-where.ts";
import type { QueryEngine, Row, SyncQueryEngine } from "./query.ts";
import { TABLES } from "./tables.ts";

// The query engine on SQLite (bun:sqlite: synchronous, a statement cache per database).

const STATEMENT_CACHE_SIZE = 500;

const syncEngines = new WeakMap<Database, SyncQueryEngine>();
const asyncEngines = new WeakMap<Database, QueryEngine>();

/** The synchronous SQLite engine of a database: built once per database (it caches statements). */
export function createSyncQueryEngine(db: Database): SyncQueryEngine {
  let engine = syncEngines.get(db);
  if (!engine) {
    engine = buildSqliteEngine(db);
    syncEngines.set(db, engine);
  }
  return engine;
}

/** The query engine of a SQLite database (one per database; its statements are cached). */
export function createQueryEngine(db: Database): QueryEngine {
  let engine = asyncEngines.get(db);
  if (!engine) {
    const sync = createSyncQueryEngine(db);
    // A throw becomes a rejection, as on PostgreSQL.
    const later =
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      async (...args: A): Promise<R> =>
        fn(...args);
    engine = {
      select: later(sync.select),
      byPk: later(sync.byPk),
      count: later(sync.count),
      selectRelated: later(sync.selectRelated),
      countRelated: later(sync.countRelated),
      aggregate: later(sync.aggregate),
      aggregateRelated: later(sync.aggregateRelated),
      check: sync.check,
      queryPlan: later(sync.queryPlan),
    };
    asyncEngines.set(db, engine);
  }
  return engine;
}

function buildSqliteEngine(db: Database): SyncQueryEngine {
  const compiler: Compiler = { dialect: SQLITE, facts: readSqliteFacts(db) };
  const statements = new Map<string, Statement>();

  /** A prepared statement per SQL text, least recently used ones finalized past the cap. */
  function statement(sql: string): Statement {
    let stmt = statements.get(sql);
    if (stmt) {
      statements.delete(sql);
    } else {
      stmt = db.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) {
        const [oldest, old] = statements.entries().next().value!;
        statements.delete(oldest);
        old.finalize();
      }
    }
    statements.set(sql, stmt);
    return stmt;
  }

  const all = ({ sql, params }: Compiled) => {
    try {
      return statement(sql).all(...(params as Array<string | number | null>)) as Row[];
    } catch (e) {
      throw sqliteTooComplex(e) ?? e;
    }
  };

  return {
    select: (table, args = {}, columns) => decodeRows(SQLITE, table, all(compileSelect(compiler, table, args, columns))),

    byPk(table, id, columns) {
      if (typeof id !== "string") throw validationError(`${table}_by_pk: expected an id`);
      const rows = all(compileByPk(SQLITE, table, id, columns));
      return rows.length ? decodeRows(SQLITE, table, rows)[0]! : null;
    },

    count: (table, where) => Number(all(compileCount(SQLITE, table, where))[0]!.n),

    selectRelated(table, name, keys, args = {}, columns) {
      const compiled = compileRelated(compiler, table, name, keys, args, columns);
      if (!compiled) return new Map();
      return groupByKey(decodeRows(SQLITE, compiled.target, all(compiled)), compiled.key);
    },

    countRelated(table, name, keys, where) {
      const compiled = compileCountRelated(SQLITE, table, name, keys, where);
      return compiled ? countsByKey(all(compiled)) : new Map();
    },

    aggregate: (table, args, specs) => aggregateValues(SQLITE, table, specs, all(compileAggregate(compiler, table, args, specs))[0]),

    aggregateRelated(table, name, keys, args, specs) {
      const compiled = compileAggregateRelated(compiler, table, name, keys, args, specs);
      if (!compiled) return new Map();
      const target = relationOf(table, name)!.table;
      return new Map(all(compiled).map((row) => [row.k, aggregateValues(SQLITE, target, specs, row)]));
    },

    check: (table, args) => checkArgs(SQLITE, table, args),

    queryPlan(request) {
      const compiled = compilePlanned(compiler, request);
      if (!compiled) return [];
      const rows = statement(`EXPLAIN QUERY PLAN ${compiled.sql}`).all(...(compiled.params as Array<string | number | null>)) as Array<{ detail: string }>;
      return rows.map((r) => r.detail);
    },
  };
}

/**
 * SQLite's own limits, should a query still meet one past the compiler's bounds, as the
 * Validation error they are (the request was too big), not an internal one.
 */
const SQLITE_LIMIT_ERRORS = /Expression tree is too large|too many terms|Recursion limit|parser stack overflow|too many SQL variables|LIKE or GLOB pattern too complex|string or blob too big/i;
const SQLITE_JSON_ERRORS = /malformed JSON|JSON nested too deep/i;

function sqliteTooComplex(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  if (SQLITE_LIMIT_ERRORS.test(error.message)) {
    return validationError(`the query is too large for the database (SQLite: ${error.message}): use fewer conditions or smaller values`);
  }
  if (SQLITE_JSON_ERRORS.test(error.message)) {
    return validationError(`a JSON value this query compares or reads nests too deeply for the database (SQLite: ${error.message})`);
  }
  return undefined;
}

/** NOT NULL columns of every declared table, read once from the database. */
function readSqliteFacts(db: Database): SchemaFacts {
  const notNull = new Map<string, Set<string>>();
  for (const table of Object.keys(TABLES)) {
    const info = db.query(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string; notnull: number; pk: number }>;
    notNull.set(table, new Set(info.filter((c) => c.notnull === 1 || c.pk === 1).map((c) => c.name)));
  }
  return factsOf(notNull);
}
