/**
 * The query compiler's bounds (settings) and SQLite's own limits: each a Validation error that
 * says what to do, never SQLite's error as an internal one.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { PrefectliteError } from "../../src/core/errors.ts";
import { createQueryEngine, type QueryEngine } from "../../src/storage/query.ts";
import { jsonNestsDeeperThan } from "../../src/storage/query-where.ts";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { seed } from "./query-seed.ts";

let db: Database;
let q: QueryEngine;

beforeAll(() => {
  db = openDatabase(":memory:");
  seed(db);
  q = createQueryEngine(db);
});

afterEach(() => {
  delete process.env.PREFECTLITE_MAX_WHERE_CONDITIONS;
  delete process.env.PREFECTLITE_MAX_WHERE_RELATION_DEPTH;
});

async function validation(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PrefectliteError);
    expect((e as PrefectliteError).code).toBe("Validation");
    return (e as Error).message;
  }
  throw new Error("expected a Validation error");
}

const ors = (n: number) => ({ _or: Array.from({ length: n }, (_, i) => ({ name: { _eq: i === n - 1 ? "first" : `x${i}` } })) });

describe("where", () => {
  test("long _or lists compile to a balanced tree: past SQLite's expression depth of 1000 when the bound allows", async () => {
    process.env.PREFECTLITE_MAX_WHERE_CONDITIONS = "5000";
    expect(await q.count("flow_run", ors(3000))).toBe(1);
    expect(await q.count("flow_run", { _and: [ors(3000), { state: { _eq: "Success" } }] })).toBe(1);
  });

  test("more conditions than PREFECTLITE_MAX_WHERE_CONDITIONS are refused", async () => {
    expect(await q.count("flow_run", ors(500))).toBe(1);
    expect(await validation(() => q.count("flow_run", ors(501)))).toBe(
      "where._or[500].name._eq: the where has more than 500 conditions (PREFECTLITE_MAX_WHERE_CONDITIONS): use _in for lists of values, or split the query",
    );
  });

  test("relations followed in a row are bounded; going up and back down a list is refused", async () => {
    expect(await q.count("task_run", { flow_run: { flow: { project: { name: { _eq: "alpha" } } } } })).toBe(6);
    process.env.PREFECTLITE_MAX_WHERE_RELATION_DEPTH = "2";
    expect(await validation(() => q.count("task_run", { flow_run: { flow: { project: { name: { _eq: "alpha" } } } } }))).toBe(
      "where.flow_run.flow.project: the where follows more than 2 relations in a row (PREFECTLITE_MAX_WHERE_RELATION_DEPTH): filter on the related table's id columns instead",
    );
    expect(await validation(() => q.count("task_run", { flow_run: { task_runs: { state: { _eq: "Failed" } } } }))).toContain(
      "where.flow_run.task_runs: the where goes up through 'flow_run' and back down through the list 'task_runs'",
    );
    // Down then up is fine: each row's own related rows.
    delete process.env.PREFECTLITE_MAX_WHERE_RELATION_DEPTH;
    expect(await q.count("project", { flows: { flow_runs: { flow: { name: { _eq: "etl" } } } } })).toBe(1);
  });

  test("expressions nested deeper than PREFECTLITE_MAX_JSON_DEPTH, and deep JSON values", async () => {
    let nested: unknown = { name: { _eq: "first" } };
    for (let i = 0; i < 64; i++) nested = { _not: { _not: nested } };
    expect(await validation(() => q.count("flow_run", nested))).toContain("the where nests deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH)");
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(await validation(() => q.count("flow_run", { parameters: { _eq: deep } }))).toBe(
      "where.parameters._eq: the value nests deeper than 64 levels (PREFECTLITE_MAX_JSON_DEPTH)",
    );
  });

  test("SQLite's own limits met anyway are Validation errors", async () => {
    expect(await validation(() => q.count("flow_run", { name: { _ilike: "%a".repeat(40_000) } }))).toStartWith(
      "the query is too large for the database (SQLite: LIKE or GLOB pattern too complex)",
    );
  });
});

describe("order_by", () => {
  test("more terms than PREFECTLITE_MAX_ORDER_BY_TERMS are refused", async () => {
    expect(await q.select("flow_run", { order_by: Array.from({ length: 20 }, () => ({ name: "asc" })), limit: 1 })).toHaveLength(1);
    expect(await validation(() => q.select("flow_run", { order_by: Array.from({ length: 3000 }, () => ({ name: "asc" })) }))).toBe(
      "order_by[20].name: order_by has more than 20 terms (PREFECTLITE_MAX_ORDER_BY_TERMS): order by fewer columns",
    );
  });
});

describe("jsonNestsDeeperThan", () => {
  test("measures objects and arrays, any depth, cycles included", async () => {
    expect(jsonNestsDeeperThan("x", 0)).toBe(false);
    expect(jsonNestsDeeperThan({ a: 1 }, 0)).toBe(true);
    expect(jsonNestsDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(jsonNestsDeeperThan({ a: [1, { b: 2 }] }, 2)).toBe(true);
    let deep: unknown = 0;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(jsonNestsDeeperThan(deep, 64)).toBe(true);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(jsonNestsDeeperThan(cycle, 64)).toBe(true);
  });
});
