/**
 * The Hasura-style query engine over the same fixture rows (inserted with plain SQL) on SQLite
 * and, when a cluster can be started, PostgreSQL: the same where/order_by/paging/relations/JSON
 * operators give the same rows on both. Where the databases differ (JSON key order in _eq,
 * nested _contains) PostgreSQL's answer is Hasura's; those cases say so. Query plans are each
 * dialect's own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { SQL } from "bun";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createPostgresQueryEngine, createQueryEngine, type QueryEngine, type SelectArgs } from "../../src/storage/query.ts";
import type { TableName } from "../../src/storage/tables.ts";
import { POSTGRES_AVAILABLE, postgresDatabase } from "../postgres.ts";
import { id, seed, seedPostgres, T } from "./query-seed.ts";

type Dialect = "sqlite" | "postgres";
interface Opened {
  q: QueryEngine;
  close(): Promise<void>;
}

async function openSqlite(): Promise<Opened> {
  const db: Database = openDatabase(":memory:");
  seed(db);
  return { q: createQueryEngine(db), close: async () => db.close() };
}

/** A migrated database of its own with the fixture rows; `session` runs on the engine's one connection first. */
async function openPostgres(session?: string): Promise<Opened> {
  const database = await postgresDatabase();
  const sql = new SQL({ url: database.url, max: session ? 1 : 4 });
  await seedPostgres(sql);
  if (session) await sql.unsafe(session);
  return {
    q: createPostgresQueryEngine(sql),
    close: async () => {
      await sql.close();
      await database.drop();
    },
  };
}

/** What Prefect 1.4.1's `Client.get_latest_cached_states` asks for a task with a `cache_key` (its time naive, meaning UTC). */
const PREFECT_CACHE_LOOKUP: SelectArgs = {
  where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "2024-01-01T11:00:00.123456" }, cache_key: { _eq: "shared" } },
  order_by: { state_timestamp: "desc" },
  limit: 100,
};

const OPENERS: Record<Dialect, () => Promise<Opened>> = { sqlite: openSqlite, postgres: () => openPostgres() };
const DIALECTS: Dialect[] = POSTGRES_AVAILABLE ? ["sqlite", "postgres"] : ["sqlite"];

describe.each(DIALECTS)("the query engine on %s", (dialect) => {
let opened: Opened;
let q: QueryEngine;

beforeAll(async () => {
  opened = await OPENERS[dialect]();
  q = opened.q;
});
afterAll(async () => {
  await opened?.close();
});

/** The names of the matching rows, in the order returned. */
const names = async (table: TableName, args: SelectArgs) => (await q.select(table, args, ["name"])).map((r) => r.name);
const runs = (where: unknown) => names("flow_run", { where, order_by: { name: asc } });
const asc = "asc";

describe("where: comparison operators", () => {
  test("_eq and _neq on strings, ints, uuids, booleans", async () => {
    expect(await runs({ name: { _eq: "first" } })).toEqual(["first"]);
    expect(await runs({ state: { _neq: "Success" } })).toEqual(["fourth", "second", "third"]);
    expect(await runs({ times_resurrected: { _eq: 0 } })).toHaveLength(4);
    expect(await runs({ id: { _eq: id(31) } })).toEqual(["second"]);
    expect(await runs({ id: { _eq: id(31).toUpperCase() } })).toEqual(["second"]);
    expect(await runs({ auto_scheduled: { _eq: true } })).toEqual(["fourth"]);
    expect(await names("flow", { where: { archived: { _eq: false } }, order_by: { name: asc } })).toEqual(["etl", "report"]);
  });

  test("_gt _gte _lt _lte on ints and timestamps (timestamps normalized to the stored form)", async () => {
    expect(await names("flow", { where: { version: { _gt: 1 } } })).toEqual(["etl"]);
    expect(await names("flow", { where: { version: { _gte: 1 } } })).toHaveLength(3);
    expect(await runs({ created: { _lt: T(20) } })).toEqual(["first"]);
    expect(await runs({ created: { _lte: T(20) } })).toEqual(["first", "second"]);
    // "…12:20:00Z" without milliseconds would sort after "…12:20:00.000Z" as text
    expect(await runs({ created: { _gte: "2024-01-01T12:20:00Z", _lt: "2024-01-01T13:30:00+01:00" } })).toEqual(["second"]);
    await expect(q.select("flow_run", { where: { created: { _gt: "yesterday" } } })).rejects.toThrow(/ISO-8601/);
  });

  test("_in and _nin, including empty lists", async () => {
    expect(await runs({ name: { _in: ["first", "third", "nope"] } })).toEqual(["first", "third"]);
    expect(await runs({ name: { _nin: ["first", "third"] } })).toEqual(["fourth", "second"]);
    expect(await runs({ name: { _in: [] } })).toEqual([]);
    expect(await runs({ name: { _nin: [] } })).toHaveLength(4);
    expect(await runs({ id: { _in: [id(30), id(33)] } })).toEqual(["first", "fourth"]);
    expect(await names("flow", { where: { archived: { _in: [true] } } })).toEqual(["etl"]);
  });

  test("_like is case-sensitive, _ilike is not; % _ and escapes work; GLOB characters are literal", async () => {
    expect(await runs({ name: { _like: "f%" } })).toEqual(["first", "fourth"]);
    expect(await runs({ name: { _like: "F%" } })).toEqual([]);
    expect(await runs({ name: { _ilike: "F%" } })).toEqual(["first", "fourth"]);
    expect(await runs({ name: { _like: "_econd" } })).toEqual(["second"]);
    expect(await runs({ name: { _nlike: "%i%" } })).toEqual(["fourth", "second"]);
    const logs = async (pattern: Record<string, string>) => (await q.select("log", { where: { message: pattern } })).map((r) => r.id);
    expect(await logs({ _like: "100\\% %" })).toEqual([id(62)]);
    expect(await logs({ _like: "%broken\\_thing" })).toEqual([id(62)]);
    expect(await logs({ _like: "%broken_thing*" })).toEqual([]);
    expect(await logs({ _ilike: "%TASK 'EXTRACT'%" })).toEqual([id(61)]);
    // A trailing backslash escapes nothing: it is a literal backslash.
    expect(await logs({ _like: "debugging\\" })).toEqual([]);
    expect(await logs({ _ilike: "DEBUGGING%\\" })).toEqual([]);
  });

  test("_is_null", async () => {
    expect(await runs({ state_message: { _is_null: true } })).toEqual(["fourth"]);
    expect(await runs({ state_message: { _is_null: false } })).toEqual(["first", "second", "third"]);
    expect(await names("flow_group", { where: { labels: { _is_null: true } } })).toEqual(["vg-report"]);
  });

  test("json columns: _eq on the value, _contains for arrays and objects", async () => {
    expect(await runs({ labels: { _eq: ["a", "b"] } })).toEqual(["first"]);
    expect(await runs({ labels: { _eq: [] } })).toEqual(["fourth", "third"]);
    expect(await runs({ labels: { _neq: [] } })).toEqual(["first", "second"]);
    expect(await runs({ labels: { _contains: ["a"] } })).toEqual(["first", "second"]);
    expect(await runs({ labels: { _contains: ["b", "a"] } })).toEqual(["first"]);
    expect(await runs({ labels: { _contains: [] } })).toHaveLength(4);
    expect(await runs({ parameters: { _contains: { x: 31 } } })).toEqual(["second"]);
    expect(await runs({ parameters: { _contains: { x: "31" } } })).toEqual([]);
    expect(await runs({ parameters: { _eq: { x: 32 } } })).toEqual(["third"]);
  });

  test("several operators on one column are all required", async () => {
    expect(await runs({ name: { _like: "%i%", _neq: "first" } })).toEqual(["third"]);
  });
});

describe("where: _and, _or, _not", () => {
  test("combine, nest and treat empty lists as true (_and) and false (_or)", async () => {
    expect(await runs({ _or: [{ name: { _eq: "first" } }, { state: { _eq: "Failed" } }] })).toEqual(["first", "third"]);
    expect(await runs({ _and: [{ name: { _like: "f%" } }, { state: { _eq: "Scheduled" } }] })).toEqual(["fourth"]);
    expect(await runs({ _not: { name: { _like: "f%" } } })).toEqual(["second", "third"]);
    expect(await runs({ _not: { _or: [{ name: { _eq: "first" } }, { name: { _eq: "second" } }] }, name: { _neq: "third" } })).toEqual(["fourth"]);
    expect(await runs({ _and: [] })).toHaveLength(4);
    expect(await runs({ _or: [] })).toEqual([]);
    expect(await runs({})).toHaveLength(4);
  });
});

describe("where through relations", () => {
  test("an object relation filters by the related row", async () => {
    expect(await runs({ flow: { name: { _eq: "report" } } })).toEqual(["third"]);
    expect(await runs({ flow: { project: { name: { _eq: "alpha" } } } })).toEqual(["first", "fourth", "second"]);
    expect(await runs({ agent: { name: { _eq: "agent-1" } } })).toEqual(["first"]);
    expect(await runs({ _not: { flow: { name: { _eq: "etl" } } } })).toEqual(["third"]);
  });

  test("a list relation means: some related row matches", async () => {
    expect(await runs({ task_runs: { state: { _eq: "Failed" } } })).toEqual(["first"]);
    expect(await runs({ task_runs: {} })).toEqual(["first", "second"]);
    expect(await runs({ _not: { task_runs: {} } })).toEqual(["fourth", "third"]);
    expect(await names("project", { where: { flows: { flow_runs: { state: { _eq: "Failed" } } } } })).toEqual(["beta"]);
    expect(await runs({ logs: { level: { _eq: "ERROR" } }, states: { state: { _eq: "Success" } } })).toEqual(["first"]);
  });
});

describe("order_by, limit, offset", () => {
  test("ascending, descending and several keys in a list", async () => {
    expect(await names("flow_run", { order_by: { created: "desc" } })).toEqual(["fourth", "third", "second", "first"]);
    const flows = await q.select("flow", { order_by: [{ name: "desc" }, { version: "asc" }] }, ["name", "version"]);
    expect(flows).toEqual([{ name: "report", version: 1 }, { name: "etl", version: 1 }, { name: "etl", version: 2 }]);
  });

  test("nulls last ascending and first descending, as PostgreSQL, unless told otherwise", async () => {
    expect((await names("flow_run", { order_by: { state_message: "asc" } })).at(-1)).toBe("fourth");
    expect((await names("flow_run", { order_by: { state_message: "desc" } }))[0]).toBe("fourth");
    expect((await names("flow_run", { order_by: { state_message: "asc_nulls_first" } }))[0]).toBe("fourth");
    expect((await names("flow_run", { order_by: { state_message: "desc_nulls_last" } })).at(-1)).toBe("fourth");
  });

  test("through object relations", async () => {
    const order_by = [{ flow: { name: "desc" } }, { name: "asc" }];
    expect(await names("flow_run", { order_by })).toEqual(["third", "first", "fourth", "second"]);
    expect(await names("flow", { order_by: [{ project: { name: "desc" } }, { version: "desc" }] })).toEqual(["report", "etl", "etl"]);
    const byAgent = await names("flow_run", { order_by: [{ agent: { name: "asc_nulls_first" } }, { name: "asc" }] });
    expect(byAgent.at(-1)).toBe("first");
    await expect(q.select("flow_run", { order_by: { task_runs: { name: "asc" } } })).rejects.toThrow(/list relation/);
  });

  test("limit and offset page; bad values are refused", async () => {
    const order_by = { created: "asc" };
    expect(await names("flow_run", { order_by, limit: 2 })).toEqual(["first", "second"]);
    expect(await names("flow_run", { order_by, limit: 2, offset: 1 })).toEqual(["second", "third"]);
    expect(await names("flow_run", { order_by, offset: 3 })).toEqual(["fourth"]);
    expect(await names("flow_run", { order_by, limit: 0 })).toEqual([]);
    await expect(q.select("flow_run", { limit: -1 })).rejects.toThrow(/non-negative integer/);
    await expect(q.select("flow_run", { offset: 1.5 })).rejects.toThrow(/non-negative integer/);
    await expect(q.select("flow_run", { limit: "1; DROP TABLE flow_run" })).rejects.toThrow(/non-negative integer/);
    // The read side pages whatever it is asked to; the API bounds what a request may ask (test/api/query-limits.test.ts).
    expect(await names("flow_run", { order_by, limit: 1_000_000 })).toHaveLength(4);
  });
});

describe("rows, lookups and counts", () => {
  test("rows decode JSON and booleans", async () => {
    const [run] = await q.select("flow_run", { where: { id: { _eq: id(30) } } });
    expect(run!.labels).toEqual(["a", "b"]);
    expect(run!.parameters).toEqual({ x: 30 });
    expect(run!.auto_scheduled).toBe(false);
    expect(run!.run_config).toBeNull();
    expect(run!.scheduled_start_time).toBe(T(10));
  });

  test("byPk finds a row, or null for unknown and malformed ids", async () => {
    expect(await q.byPk("flow", id(11), ["name", "version", "archived"])).toEqual({ name: "etl", version: 2, archived: false });
    expect(await q.byPk("flow", id(99))).toBeNull();
    expect(await q.byPk("flow", "not-a-uuid")).toBeNull();
  });

  test("count", async () => {
    expect(await q.count("flow_run")).toBe(4);
    expect(await q.count("task_run", { flow_run: { name: { _eq: "first" } } })).toBe(5);
  });
});

describe("batched relations", () => {
  test("a list relation loads the rows of many parents in one call, grouped by key", async () => {
    const grouped = await q.selectRelated("flow_run", "task_runs", [id(30), id(31), id(33), null], { order_by: { map_index: "asc" } }, ["map_index"]);
    expect(grouped.get(id(30))!.map((r) => r.map_index)).toEqual([-1, -1, 0, 1, 2]);
    expect(grouped.get(id(31))!.map((r) => r.map_index)).toEqual([-1]);
    expect(grouped.has(id(33))).toBe(false);
  });

  test("where, order_by, limit and offset apply to each parent's rows", async () => {
    const args = { where: { task_slug: { _eq: "load-1" } }, order_by: { map_index: "desc" }, limit: 2, offset: 1 };
    const grouped = await q.selectRelated("flow_run", "task_runs", [id(30), id(31)], args, ["id"]);
    expect(grouped.get(id(30))!.map((r) => r.id)).toEqual([id(43), id(42)]);
    expect(grouped.has(id(31))).toBe(false);
    const firstOfEach = await q.selectRelated("flow_run", "task_runs", [id(30), id(31)], { order_by: { created: "asc" }, limit: 1 }, ["id"]);
    expect([...firstOfEach.values()].map((rows) => rows.map((r) => r.id))).toEqual([[id(40)], [id(45)]]);
  });

  test("an object relation loads one row per key", async () => {
    const grouped = await q.selectRelated("flow_run", "flow", [id(11), id(12), id(11)], {}, ["name"]);
    expect(grouped.get(id(11))!.map((r) => r.name)).toEqual(["etl"]);
    expect(grouped.get(id(12))!.map((r) => r.name)).toEqual(["report"]);
  });
});

describe("hostile and wrong input", () => {
  test("values are parameters: SQL in a value matches nothing and changes nothing", async () => {
    for (const value of [`first' OR '1'='1`, `"; DROP TABLE flow_run; --`, `') OR 1=1 --`]) {
      expect(await runs({ name: { _eq: value } })).toEqual([]);
      expect(await runs({ name: { _like: value } })).toEqual([]);
      expect(await runs({ name: { _in: [value] } })).toEqual([]);
      expect(await runs({ labels: { _contains: [value] } })).toEqual([]);
    }
    expect(await q.count("flow_run")).toBe(4);
  });

  test("a NUL character in a value matches nothing, or is refused as a Validation error", async () => {
    const outcome = await runs({ name: { _eq: "fir\u0000st" } }).then(
      (rows) => rows,
      (e) => (e as { code?: string }).code,
    );
    expect(outcome).toEqual(dialect === "postgres" ? "Validation" : []);
  });

  test("unknown columns, relations, operators and directions are refused with the path", async () => {
    await expect(q.select("flow_run", { where: { nope: { _eq: 1 } } })).rejects.toThrow("where.nope: 'nope' is not a column or relation of flow_run");
    await expect(q.select("flow_run", { where: { 'name" = name OR "1': { _eq: 1 } } })).rejects.toThrow(/not a column/);
    await expect(q.select("flow_run", { where: { flow: { nope: { _eq: 1 } } } })).rejects.toThrow("where.flow.nope");
    await expect(q.select("flow_run", { where: { name: { _regex: "x" } } })).rejects.toThrow(/unknown operator/);
    await expect(q.select("flow_run", { where: { labels: { _like: "x" } } })).rejects.toThrow(/unknown operator for a json column/);
    await expect(q.select("flow_run", { where: { name: { _eq: 3 } } })).rejects.toThrow(/expected a string/);
    await expect(q.select("flow_run", { where: { version: { _eq: "3" } } })).rejects.toThrow(/expected an integer/);
    await expect(q.select("flow_run", { where: { id: { _eq: "x" } } })).rejects.toThrow(/expected a UUID/);
    await expect(q.select("flow_run", { where: { name: "first" } })).rejects.toThrow(/expected an object of operators/);
    await expect(q.select("flow_run", { order_by: { name: "sideways" } })).rejects.toThrow(/expected one of asc/);
    await expect(q.select("flow_run", { order_by: { "name; DROP TABLE x": "asc" } })).rejects.toThrow(/not a column/);
    await expect(q.select("flow_run", {}, ["name", "nope"])).rejects.toThrow(/not a column/);
    await expect(q.select("flow_run", { where: { constructor: { _eq: 1 } } })).rejects.toThrow(/not a column/);
  });
});

describe("JSON where jsonb and SQLite's json text differ (PostgreSQL's is Hasura's)", () => {
  test("_eq ignores key order on PostgreSQL; SQLite compares the text", async () => {
    const swapped = await runs({ serialized_state: { _eq: { message: "Some reference tasks failed.", type: "Failed" } } });
    expect(swapped).toEqual(dialect === "postgres" ? ["third"] : []);
    expect(await runs({ serialized_state: { _eq: { type: "Failed", message: "Some reference tasks failed." } } })).toEqual(["third"]);
  });

  test("_contains is recursive on PostgreSQL; SQLite compares top-level values whole", async () => {
    const nested = await names("task_run", { where: { serialized_state: { _contains: { _result: {} } } } });
    expect(nested).toHaveLength(dialect === "postgres" ? 6 : 0);
    expect(await q.count("task_run", { serialized_state: { _contains: { _result: { location: "/r/40" } } } })).toBe(1);
  });
});

describe("times, booleans and JSON come back as the API sees them", () => {
  test("ISO-8601 text with milliseconds and Z, booleans, parsed JSON", async () => {
    const [flow] = await q.select("flow", { where: { id: { _eq: id(11) } } }, ["created", "archived", "parameters", "serialized_flow"]);
    expect(flow).toEqual({ created: T(11), archived: false, parameters: [{ name: "x", default: 2 }], serialized_flow: { name: "etl", tasks: [] } });
    const grouped = await q.selectRelated("flow_run", "logs", [id(30)], { order_by: { timestamp: "asc" }, limit: 1 }, ["timestamp", "info"]);
    expect(grouped.get(id(30))).toEqual([{ timestamp: T(10), info: { n: 60 }, flow_run_id: id(30) }]);
  });

  test("rows without order_by come in insertion order (tasks: as declared)", async () => {
    expect((await q.select("flow_run", {}, ["name"])).map((r) => r.name)).toEqual(["first", "second", "third", "fourth"]);
    const tasks = await q.selectRelated("flow", "tasks", [id(11)], {}, ["slug"]);
    expect(tasks.get(id(11))!.map((r) => r.slug)).toEqual(["extract-1", "load-1"]);
    const paged = await q.selectRelated("flow", "tasks", [id(11)], { offset: 1 }, ["slug"]);
    expect(paged.get(id(11))!.map((r) => r.slug)).toEqual(["load-1"]);
  });
});
});

describe("query plans use the indexes (SQLite)", () => {
  let opened: Opened;
  let q: QueryEngine;
  beforeAll(async () => {
    opened = await openSqlite();
    q = opened.q;
  });
  afterAll(() => opened.close());
  const scans = (plan: string[]) => plan.filter((step) => /^SCAN t0\b/.test(step) && !/USING (COVERING )?INDEX/.test(step));

  test("flow_run_by_pk's lookups: the run by id, its task runs, states and logs by flow_run_id", async () => {
    expect((await q.queryPlan({ table: "flow_run", args: { where: { id: { _eq: id(30) } } } })).join()).toMatch(/SEARCH t0 USING INDEX sqlite_autoindex_flow_run_1 \(id=\?\)/);
    for (const relation of ["task_runs", "states", "logs"]) {
      for (const keys of [[id(30)], [id(30), id(31)]]) {
        const plan = await q.queryPlan({ table: "flow_run", relation, keys });
        expect(plan.join()).toMatch(/SEARCH t0 USING (COVERING )?INDEX \w+ \(flow_run_id=\?\)/);
        expect(scans(plan)).toEqual([]);
      }
    }
    const paged = await q.queryPlan({ table: "flow_run", relation: "task_runs", keys: [id(30)], args: { order_by: { map_index: "asc" }, limit: 10 } });
    expect(paged.join()).toMatch(/SEARCH t0 USING INDEX \w+ \(flow_run_id=\?\)/);
  });

  test("object relations by primary key; recent runs by the created index", async () => {
    expect((await q.queryPlan({ table: "task_run", relation: "task", keys: [id(20), id(21)] })).join()).toMatch(/SEARCH t0 USING INDEX sqlite_autoindex_task_1 \(id=\?\)/);
    expect(await q.queryPlan({ table: "flow_run", args: { order_by: { created: "desc" }, limit: 10 } })).toEqual(["SCAN t0 USING INDEX flow_run_created"]);
  });

  test("Prefect's cache lookup by cache_key is one range of the partial cache-key index, already in order", async () => {
    expect(await q.queryPlan({ table: "task_run", args: PREFECT_CACHE_LOOKUP })).toEqual([
      "SEARCH t0 USING INDEX task_run_cache_key (cache_key=? AND state=? AND state_timestamp>?)",
    ]);
  });
});


describe.skipIf(!POSTGRES_AVAILABLE)("query plans use the indexes (PostgreSQL)", () => {
  let opened: Opened;
  let q: QueryEngine;
  // The fixture tables are a few rows: without this PostgreSQL rightly prefers a sequential scan.
  beforeAll(async () => {
    opened = await openPostgres("SET enable_seqscan = off");
    q = opened.q;
  });
  afterAll(() => opened?.close());

  test("by primary key; a run's task runs, states and logs by flow_run_id; recent runs by the created index", async () => {
    expect(await q.queryPlan({ table: "flow_run", args: { where: { id: { _eq: id(30) } } } })).toEqual(["Index Scan using flow_run_pkey on flow_run t0"]);
    for (const relation of ["task_runs", "states", "logs"]) {
      for (const keys of [[id(30)], [id(30), id(31)]]) {
        const plan = (await q.queryPlan({ table: "flow_run", relation, keys })).join("; ");
        expect(plan).toMatch(/(Index|Bitmap Index) Scan using \w+/);
        expect(plan).not.toContain("Seq Scan");
      }
    }
    expect((await q.queryPlan({ table: "task_run", relation: "task", keys: [id(20), id(21)] })).join("; ")).toContain("using task_pkey");
    expect((await q.queryPlan({ table: "flow_run", args: { order_by: { created: "desc" }, limit: 10 } })).join("; ")).toContain(
      "Index Scan Backward using flow_run_created on flow_run t0",
    );
    const cached = (await q.queryPlan({ table: "task_run", args: PREFECT_CACHE_LOOKUP })).join("; ");
    expect(cached).toContain("Index Scan Backward using task_run_cache_key on task_run t0");
    expect(cached).not.toContain("Sort");
  });
});
