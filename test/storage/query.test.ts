import { beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { openDatabase } from "../../src/storage/db.ts";
import { createQueryEngine, type QueryEngine, type SelectArgs } from "../../src/storage/query.ts";
import type { TableName } from "../../src/storage/tables.ts";
import { id, seed, T } from "./query-seed.ts";

let db: Database;
let q: QueryEngine;

beforeAll(() => {
  db = openDatabase(":memory:");
  seed(db);
  q = createQueryEngine(db);
});

/** The names of the matching rows, in the order returned. */
const names = (table: TableName, args: SelectArgs) => q.select(table, args, ["name"]).map((r) => r.name);
const runs = (where: unknown) => names("flow_run", { where, order_by: { name: asc } });
const asc = "asc";

describe("where: comparison operators", () => {
  test("_eq and _neq on strings, ints, uuids, booleans", () => {
    expect(runs({ name: { _eq: "first" } })).toEqual(["first"]);
    expect(runs({ state: { _neq: "Success" } })).toEqual(["fourth", "second", "third"]);
    expect(runs({ times_resurrected: { _eq: 0 } })).toHaveLength(4);
    expect(runs({ id: { _eq: id(31) } })).toEqual(["second"]);
    expect(runs({ id: { _eq: id(31).toUpperCase() } })).toEqual(["second"]);
    expect(runs({ auto_scheduled: { _eq: true } })).toEqual(["fourth"]);
    expect(names("flow", { where: { archived: { _eq: false } }, order_by: { name: asc } })).toEqual(["etl", "report"]);
  });

  test("_gt _gte _lt _lte on ints and timestamps (timestamps normalized to the stored form)", () => {
    expect(names("flow", { where: { version: { _gt: 1 } } })).toEqual(["etl"]);
    expect(names("flow", { where: { version: { _gte: 1 } } })).toHaveLength(3);
    expect(runs({ created: { _lt: T(20) } })).toEqual(["first"]);
    expect(runs({ created: { _lte: T(20) } })).toEqual(["first", "second"]);
    // "…12:20:00Z" without milliseconds would sort after "…12:20:00.000Z" as text
    expect(runs({ created: { _gte: "2024-01-01T12:20:00Z", _lt: "2024-01-01T13:30:00+01:00" } })).toEqual(["second"]);
    expect(() => q.select("flow_run", { where: { created: { _gt: "yesterday" } } })).toThrow(/ISO-8601/);
  });

  test("_in and _nin, including empty lists", () => {
    expect(runs({ name: { _in: ["first", "third", "nope"] } })).toEqual(["first", "third"]);
    expect(runs({ name: { _nin: ["first", "third"] } })).toEqual(["fourth", "second"]);
    expect(runs({ name: { _in: [] } })).toEqual([]);
    expect(runs({ name: { _nin: [] } })).toHaveLength(4);
    expect(runs({ id: { _in: [id(30), id(33)] } })).toEqual(["first", "fourth"]);
    expect(names("flow", { where: { archived: { _in: [true] } } })).toEqual(["etl"]);
  });

  test("_like is case-sensitive, _ilike is not; % _ and escapes work; GLOB characters are literal", () => {
    expect(runs({ name: { _like: "f%" } })).toEqual(["first", "fourth"]);
    expect(runs({ name: { _like: "F%" } })).toEqual([]);
    expect(runs({ name: { _ilike: "F%" } })).toEqual(["first", "fourth"]);
    expect(runs({ name: { _like: "_econd" } })).toEqual(["second"]);
    expect(runs({ name: { _nlike: "%i%" } })).toEqual(["fourth", "second"]);
    const logs = (pattern: Record<string, string>) => q.select("log", { where: { message: pattern } }).map((r) => r.id);
    expect(logs({ _like: "100\\% %" })).toEqual([id(62)]);
    expect(logs({ _like: "%broken\\_thing" })).toEqual([id(62)]);
    expect(logs({ _like: "%broken_thing*" })).toEqual([]);
    expect(logs({ _ilike: "%TASK 'EXTRACT'%" })).toEqual([id(61)]);
  });

  test("_is_null", () => {
    expect(runs({ state_message: { _is_null: true } })).toEqual(["fourth"]);
    expect(runs({ state_message: { _is_null: false } })).toEqual(["first", "second", "third"]);
    expect(names("flow_group", { where: { labels: { _is_null: true } } })).toEqual(["vg-report"]);
  });

  test("json columns: _eq on the value, _contains for arrays and objects", () => {
    expect(runs({ labels: { _eq: ["a", "b"] } })).toEqual(["first"]);
    expect(runs({ labels: { _eq: [] } })).toEqual(["fourth", "third"]);
    expect(runs({ labels: { _neq: [] } })).toEqual(["first", "second"]);
    expect(runs({ labels: { _contains: ["a"] } })).toEqual(["first", "second"]);
    expect(runs({ labels: { _contains: ["b", "a"] } })).toEqual(["first"]);
    expect(runs({ labels: { _contains: [] } })).toHaveLength(4);
    expect(runs({ parameters: { _contains: { x: 31 } } })).toEqual(["second"]);
    expect(runs({ parameters: { _contains: { x: "31" } } })).toEqual([]);
    expect(runs({ parameters: { _eq: { x: 32 } } })).toEqual(["third"]);
  });

  test("several operators on one column are all required", () => {
    expect(runs({ name: { _like: "%i%", _neq: "first" } })).toEqual(["third"]);
  });
});

describe("where: _and, _or, _not", () => {
  test("combine, nest and treat empty lists as true (_and) and false (_or)", () => {
    expect(runs({ _or: [{ name: { _eq: "first" } }, { state: { _eq: "Failed" } }] })).toEqual(["first", "third"]);
    expect(runs({ _and: [{ name: { _like: "f%" } }, { state: { _eq: "Scheduled" } }] })).toEqual(["fourth"]);
    expect(runs({ _not: { name: { _like: "f%" } } })).toEqual(["second", "third"]);
    expect(runs({ _not: { _or: [{ name: { _eq: "first" } }, { name: { _eq: "second" } }] }, name: { _neq: "third" } })).toEqual(["fourth"]);
    expect(runs({ _and: [] })).toHaveLength(4);
    expect(runs({ _or: [] })).toEqual([]);
    expect(runs({})).toHaveLength(4);
  });
});

describe("where through relations", () => {
  test("an object relation filters by the related row", () => {
    expect(runs({ flow: { name: { _eq: "report" } } })).toEqual(["third"]);
    expect(runs({ flow: { project: { name: { _eq: "alpha" } } } })).toEqual(["first", "fourth", "second"]);
    expect(runs({ agent: { name: { _eq: "agent-1" } } })).toEqual(["first"]);
    expect(runs({ _not: { flow: { name: { _eq: "etl" } } } })).toEqual(["third"]);
  });

  test("a list relation means: some related row matches", () => {
    expect(runs({ task_runs: { state: { _eq: "Failed" } } })).toEqual(["first"]);
    expect(runs({ task_runs: {} })).toEqual(["first", "second"]);
    expect(runs({ _not: { task_runs: {} } })).toEqual(["fourth", "third"]);
    expect(names("project", { where: { flows: { flow_runs: { state: { _eq: "Failed" } } } } })).toEqual(["beta"]);
    expect(runs({ logs: { level: { _eq: "ERROR" } }, states: { state: { _eq: "Success" } } })).toEqual(["first"]);
  });
});

describe("order_by, limit, offset", () => {
  test("ascending, descending and several keys in a list", () => {
    expect(names("flow_run", { order_by: { created: "desc" } })).toEqual(["fourth", "third", "second", "first"]);
    const flows = q.select("flow", { order_by: [{ name: "desc" }, { version: "asc" }] }, ["name", "version"]);
    expect(flows).toEqual([{ name: "report", version: 1 }, { name: "etl", version: 1 }, { name: "etl", version: 2 }]);
  });

  test("nulls last ascending and first descending, as PostgreSQL, unless told otherwise", () => {
    expect(names("flow_run", { order_by: { state_message: "asc" } }).at(-1)).toBe("fourth");
    expect(names("flow_run", { order_by: { state_message: "desc" } })[0]).toBe("fourth");
    expect(names("flow_run", { order_by: { state_message: "asc_nulls_first" } })[0]).toBe("fourth");
    expect(names("flow_run", { order_by: { state_message: "desc_nulls_last" } }).at(-1)).toBe("fourth");
  });

  test("through object relations", () => {
    const order_by = [{ flow: { name: "desc" } }, { name: "asc" }];
    expect(names("flow_run", { order_by })).toEqual(["third", "first", "fourth", "second"]);
    expect(names("flow", { order_by: [{ project: { name: "desc" } }, { version: "desc" }] })).toEqual(["report", "etl", "etl"]);
    const byAgent = names("flow_run", { order_by: [{ agent: { name: "asc_nulls_first" } }, { name: "asc" }] });
    expect(byAgent.at(-1)).toBe("first");
    expect(() => q.select("flow_run", { order_by: { task_runs: { name: "asc" } } })).toThrow(/list relation/);
  });

  test("limit and offset page; bad values are refused", () => {
    const order_by = { created: "asc" };
    expect(names("flow_run", { order_by, limit: 2 })).toEqual(["first", "second"]);
    expect(names("flow_run", { order_by, limit: 2, offset: 1 })).toEqual(["second", "third"]);
    expect(names("flow_run", { order_by, offset: 3 })).toEqual(["fourth"]);
    expect(names("flow_run", { order_by, limit: 0 })).toEqual([]);
    expect(() => q.select("flow_run", { limit: -1 })).toThrow(/non-negative integer/);
    expect(() => q.select("flow_run", { offset: 1.5 })).toThrow(/non-negative integer/);
    expect(() => q.select("flow_run", { limit: "1; DROP TABLE flow_run" })).toThrow(/non-negative integer/);
    // The read side pages whatever it is asked to; the API bounds what a request may ask (test/api/query-limits.test.ts).
    expect(names("flow_run", { order_by, limit: 1_000_000 })).toHaveLength(4);
  });
});

describe("rows, lookups and counts", () => {
  test("rows decode JSON and booleans", () => {
    const [run] = q.select("flow_run", { where: { id: { _eq: id(30) } } });
    expect(run!.labels).toEqual(["a", "b"]);
    expect(run!.parameters).toEqual({ x: 30 });
    expect(run!.auto_scheduled).toBe(false);
    expect(run!.run_config).toBeNull();
    expect(run!.scheduled_start_time).toBe(T(10));
  });

  test("byPk finds a row, or null for unknown and malformed ids", () => {
    expect(q.byPk("flow", id(11), ["name", "version", "archived"])).toEqual({ name: "etl", version: 2, archived: false });
    expect(q.byPk("flow", id(99))).toBeNull();
    expect(q.byPk("flow", "not-a-uuid")).toBeNull();
  });

  test("count", () => {
    expect(q.count("flow_run")).toBe(4);
    expect(q.count("task_run", { flow_run: { name: { _eq: "first" } } })).toBe(5);
  });
});

describe("batched relations", () => {
  test("a list relation loads the rows of many parents in one call, grouped by key", () => {
    const grouped = q.selectRelated("flow_run", "task_runs", [id(30), id(31), id(33), null], { order_by: { map_index: "asc" } }, ["map_index"]);
    expect(grouped.get(id(30))!.map((r) => r.map_index)).toEqual([-1, -1, 0, 1, 2]);
    expect(grouped.get(id(31))!.map((r) => r.map_index)).toEqual([-1]);
    expect(grouped.has(id(33))).toBe(false);
  });

  test("where, order_by, limit and offset apply to each parent's rows", () => {
    const args = { where: { task_slug: { _eq: "load-1" } }, order_by: { map_index: "desc" }, limit: 2, offset: 1 };
    const grouped = q.selectRelated("flow_run", "task_runs", [id(30), id(31)], args, ["id"]);
    expect(grouped.get(id(30))!.map((r) => r.id)).toEqual([id(43), id(42)]);
    expect(grouped.has(id(31))).toBe(false);
    const firstOfEach = q.selectRelated("flow_run", "task_runs", [id(30), id(31)], { order_by: { created: "asc" }, limit: 1 }, ["id"]);
    expect([...firstOfEach.values()].map((rows) => rows.map((r) => r.id))).toEqual([[id(40)], [id(45)]]);
  });

  test("an object relation loads one row per key", () => {
    const grouped = q.selectRelated("flow_run", "flow", [id(11), id(12), id(11)], {}, ["name"]);
    expect(grouped.get(id(11))!.map((r) => r.name)).toEqual(["etl"]);
    expect(grouped.get(id(12))!.map((r) => r.name)).toEqual(["report"]);
  });
});

describe("query plans use the indexes", () => {
  const scans = (plan: string[]) => plan.filter((step) => /^SCAN t0\b/.test(step) && !/USING (COVERING )?INDEX/.test(step));

  test("flow_run_by_pk's lookups: the run by id, its task runs, states and logs by flow_run_id", () => {
    expect(q.queryPlan({ table: "flow_run", args: { where: { id: { _eq: id(30) } } } }).join()).toMatch(/SEARCH t0 USING INDEX sqlite_autoindex_flow_run_1 \(id=\?\)/);
    for (const relation of ["task_runs", "states", "logs"]) {
      for (const keys of [[id(30)], [id(30), id(31)]]) {
        const plan = q.queryPlan({ table: "flow_run", relation, keys });
        expect(plan.join()).toMatch(/SEARCH t0 USING (COVERING )?INDEX \w+ \(flow_run_id=\?\)/);
        expect(scans(plan)).toEqual([]);
      }
    }
    const paged = q.queryPlan({ table: "flow_run", relation: "task_runs", keys: [id(30)], args: { order_by: { map_index: "asc" }, limit: 10 } });
    expect(paged.join()).toMatch(/SEARCH t0 USING INDEX \w+ \(flow_run_id=\?\)/);
  });

  test("object relations by primary key; recent runs by the created index", () => {
    expect(q.queryPlan({ table: "task_run", relation: "task", keys: [id(20), id(21)] }).join()).toMatch(/SEARCH t0 USING INDEX sqlite_autoindex_task_1 \(id=\?\)/);
    expect(q.queryPlan({ table: "flow_run", args: { order_by: { created: "desc" }, limit: 10 } })).toEqual(["SCAN t0 USING INDEX flow_run_created"]);
  });
});

describe("hostile and wrong input", () => {
  test("values are parameters: SQL in a value matches nothing and changes nothing", () => {
    for (const value of [`first' OR '1'='1`, `"; DROP TABLE flow_run; --`, `') OR 1=1 --`]) {
      expect(runs({ name: { _eq: value } })).toEqual([]);
      expect(runs({ name: { _like: value } })).toEqual([]);
      expect(runs({ name: { _in: [value] } })).toEqual([]);
      expect(runs({ labels: { _contains: [value] } })).toEqual([]);
    }
    expect(q.count("flow_run")).toBe(4);
  });

  test("unknown columns, relations, operators and directions are refused with the path", () => {
    expect(() => q.select("flow_run", { where: { nope: { _eq: 1 } } })).toThrow("where.nope: 'nope' is not a column or relation of flow_run");
    expect(() => q.select("flow_run", { where: { 'name" = name OR "1': { _eq: 1 } } })).toThrow(/not a column/);
    expect(() => q.select("flow_run", { where: { flow: { nope: { _eq: 1 } } } })).toThrow("where.flow.nope");
    expect(() => q.select("flow_run", { where: { name: { _regex: "x" } } })).toThrow(/unknown operator/);
    expect(() => q.select("flow_run", { where: { labels: { _like: "x" } } })).toThrow(/unknown operator for a json column/);
    expect(() => q.select("flow_run", { where: { name: { _eq: null } } })).toThrow(/use _is_null/);
    expect(() => q.select("flow_run", { where: { name: { _eq: 3 } } })).toThrow(/expected a string/);
    expect(() => q.select("flow_run", { where: { version: { _eq: "3" } } })).toThrow(/expected an integer/);
    expect(() => q.select("flow_run", { where: { id: { _eq: "x" } } })).toThrow(/expected a UUID/);
    expect(() => q.select("flow_run", { where: { name: "first" } })).toThrow(/expected an object of operators/);
    expect(() => q.select("flow_run", { order_by: { name: "sideways" } })).toThrow(/expected one of asc/);
    expect(() => q.select("flow_run", { order_by: { "name; DROP TABLE x": "asc" } })).toThrow(/not a column/);
    expect(() => q.select("flow_run", {}, ["name", "nope"])).toThrow(/not a column/);
    expect(() => q.select("flow_run", { where: { constructor: { _eq: 1 } } })).toThrow(/not a column/);
  });
});
