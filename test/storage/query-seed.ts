import { Database } from "bun:sqlite";
import { SQL } from "bun";

type Fixture = Record<string, unknown>;

/** Insert one row into SQLite with plain SQL: objects/arrays as JSON text, booleans as 0/1. */
export function insert(db: Database, table: string, row: Fixture): void {
  const names = Object.keys(row);
  const values = names.map((n) => {
    const v = row[n];
    if (typeof v === "boolean") return v ? 1 : 0;
    if (v !== null && typeof v === "object") return JSON.stringify(v);
    return v as string | number | null;
  });
  db.prepare(`INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`).run(...values);
}

/** Insert one row into PostgreSQL with plain SQL: objects/arrays as jsonb, the rest as they are. */
export async function insertPostgres(sql: SQL, table: string, row: Fixture): Promise<void> {
  const names = Object.keys(row);
  const values = names.map((n) => {
    const v = row[n];
    return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
  });
  const placeholders = names.map((n, i) => {
    const v = row[n];
    return v !== null && typeof v === "object" ? `($${i + 1}::text)::jsonb` : `$${i + 1}`;
  });
  await sql.unsafe(`INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(", ")}) VALUES (${placeholders.join(", ")})`, values);
}

/** A fixed, readable id: `id(1)` → 00000000-0000-4000-8000-000000000001. */
export const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

export const T = (minute: number): string => new Date(Date.UTC(2024, 0, 1, 12, minute)).toISOString();

/**
 * Two projects, two flows of one version group (the first archived) and a third flow, four
 * flow runs, task runs with states and logs, and an agent.
 *
 *   project alpha (1): flow etl v1 (10, archived), etl v2 (11); tasks extract-1 (20), load-1 (21)
 *   project beta (2):  flow report v1 (12)
 *   runs: 30 "first" etl v2 Success labels [a,b], 31 "second" etl v2 Running labels [a],
 *         32 "third" report Failed labels [], 33 "fourth" etl v2 Scheduled (no state message)
 *   task runs of 30: 40 extract-1, 41 load-1 (map -1), 42/43/44 load-1 mapped 0..2; of 31: 45
 */
export function seed(db: Database): void {
  seedRows((table, row) => insert(db, table, row));
}

/** The same rows in a migrated PostgreSQL database (tasks get their declaration order in `position`). */
export async function seedPostgres(sql: SQL): Promise<void> {
  const rows: Array<[string, Fixture]> = [];
  let position = 0;
  seedRows((table, row) => rows.push([table, table === "task" ? { ...row, position: position++ } : row]));
  for (const [table, row] of rows) await insertPostgres(sql, table, row);
}

function seedRows(insert: (table: string, row: Fixture) => void): void {
  insert("project", { id: id(1), name: "alpha", description: "first", created: T(0), updated: T(0) });
  insert("project", { id: id(2), name: "beta", description: null, created: T(1), updated: T(1) });
  const settings = { heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false, idempotency_key: null };
  insert("flow_group", { id: id(5), name: "vg-etl", labels: ["a"], settings, created: T(0), updated: T(0) });
  insert("flow_group", { id: id(6), name: "vg-report", labels: null, settings, created: T(0), updated: T(0) });
  const flow = (n: number, name: string, version: number, group: number, project: number, archived: boolean) =>
    insert("flow", {
      id: id(n),
      name,
      version,
      version_group_id: group === 5 ? "vg-etl" : "vg-report",
      flow_group_id: id(group),
      project_id: id(project),
      archived,
      core_version: "1",
      serialized_flow: { name, tasks: [] },
      serialized_hash: `hash-${n}`,
      parameters: [{ name: "x", default: version }],
      created: T(n),
      updated: T(n),
    });
  flow(10, "etl", 1, 5, 1, true);
  flow(11, "etl", 2, 5, 1, false);
  flow(12, "report", 1, 6, 2, false);
  const task = (n: number, slug: string, mapped: boolean) =>
    insert("task", { id: id(n), flow_id: id(11), name: slug.replace(/-\d+$/, ""), slug, type: "task", trigger: "all_successful", mapped, tags: ["t"], created: T(0) });
  task(20, "extract-1", false);
  task(21, "load-1", true);
  insert("agent", { id: id(7), name: "agent-1", type: "local", labels: ["a", "b"], created: T(0), updated: T(0) });
  const run = (n: number, flowN: number, name: string, state: string, labels: string[], minute: number, message: string | null, agent?: number) =>
    insert("flow_run", {
      id: id(n),
      flow_id: id(flowN),
      name,
      parameters: { x: n },
      labels,
      scheduled_start_time: T(minute),
      version: 2,
      state,
      state_message: message,
      serialized_state: { type: state, message },
      agent_id: agent ? id(agent) : null,
      auto_scheduled: n === 33,
      created: T(minute),
      updated: T(minute),
    });
  run(30, 11, "first", "Success", ["a", "b"], 10, "All reference tasks succeeded.", 7);
  run(31, 11, "second", "Running", ["a"], 20, "Running flow.");
  run(32, 12, "third", "Failed", [], 30, "Some reference tasks failed.");
  run(33, 11, "fourth", "Scheduled", [], 40, null);
  let stateN = 100;
  for (const [runN, states] of [[30, ["Scheduled", "Running", "Success"]], [31, ["Scheduled", "Running"]]] as const) {
    states.forEach((state, i) =>
      insert("flow_run_state", { id: id(stateN++), flow_run_id: id(runN), timestamp: T(runN - 20 + i), state, message: `to ${state}`, serialized_state: { type: state }, version: i + 1, created: T(0) }),
    );
  }
  const taskRun = (n: number, runN: number, taskN: number, slug: string, mapIndex: number, state: string, minute: number) =>
    insert("task_run", { id: id(n), flow_run_id: id(runN), task_id: id(taskN), task_slug: slug, map_index: mapIndex, version: 1, state, serialized_state: { type: state, _result: { location: `/r/${n}` } }, created: T(minute), updated: T(minute) });
  taskRun(40, 30, 20, "extract-1", -1, "Success", 11);
  taskRun(41, 30, 21, "load-1", -1, "Mapped", 12);
  taskRun(42, 30, 21, "load-1", 0, "Success", 13);
  taskRun(43, 30, 21, "load-1", 1, "Failed", 14);
  taskRun(44, 30, 21, "load-1", 2, "Success", 15);
  taskRun(45, 31, 20, "extract-1", -1, "Running", 21);
  insert("task_run_state", { id: id(150), task_run_id: id(40), timestamp: T(11), state: "Success", serialized_state: { type: "Success" }, version: 1, created: T(11) });
  const log = (n: number, runN: number, taskRunN: number | null, level: string, message: string, minute: number) =>
    insert("log", { id: id(n), flow_run_id: id(runN), task_run_id: taskRunN ? id(taskRunN) : null, timestamp: T(minute), name: "prefectlite", level, message, info: { n }, created: T(minute) });
  log(60, 30, null, "INFO", "Beginning Flow run", 10);
  log(61, 30, 40, "INFO", "Task 'extract': Starting task run...", 11);
  log(62, 30, 43, "ERROR", "100% broken_thing", 14);
  log(63, 31, null, "DEBUG", "debugging", 20);
}

/** Plain SQL on a test database through a connection of its own: `sqlite` on SQLite, `postgres` on PostgreSQL. */
export async function onDatabase(
  t: { kind: string; url: string },
  sqlite: (db: Database) => void,
  postgres: (sql: SQL) => Promise<void>,
): Promise<void> {
  if (t.kind === "postgres") {
    const sql = new SQL({ url: t.url, max: 1 });
    try {
      await postgres(sql);
    } finally {
      await sql.close();
    }
    return;
  }
  const db = new Database(t.url.slice("sqlite:".length), { strict: true });
  try {
    sqlite(db);
  } finally {
    db.close();
  }
}

/** The seed rows in the test database. */
export const seedDatabase = (t: { kind: string; url: string }): Promise<void> => onDatabase(t, seed, seedPostgres);
