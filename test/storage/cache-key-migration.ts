import { id, T } from "./query-seed.ts";

/**
 * Rows as the schema before task_run.cache_key held them (SQLite 6, PostgreSQL 3), for both
 * migrations' tests: a flow whose task 21 has cache key "shared" and task 22 none, and two runs
 * of it with a task run of each (task run 43 a mapped child of task 21).
 */
export function cacheKeyFixture(): string {
  const t = T(0);
  const task = (n: number, slug: string, cacheKey: string | null) =>
    `INSERT INTO task (id, flow_id, name, slug, type, trigger, cache_key, created)
       VALUES ('${id(n)}', '${id(11)}', '${slug}', '${slug}', 'task', 'all_successful', ${cacheKey === null ? "NULL" : `'${cacheKey}'`}, '${t}');`;
  const run = (n: number) =>
    `INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, created, updated) VALUES ('${id(n)}', '${id(11)}', 'run', '${t}', '${t}', '${t}');`;
  const taskRun = (n: number, runN: number, taskN: number, slug: string, mapIndex = -1) =>
    `INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, state, state_timestamp, created, updated)
       VALUES ('${id(n)}', '${id(runN)}', '${id(taskN)}', '${slug}', ${mapIndex}, 'Cached', '${t}', '${t}', '${t}');`;
  return [
    `INSERT INTO project (id, name, created, updated) VALUES ('${id(1)}', 'proj', '${t}', '${t}');`,
    `INSERT INTO flow_group (id, name, settings, created, updated) VALUES ('${id(2)}', 'vg', '{}', '${t}', '${t}');`,
    `INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
       VALUES ('${id(11)}', 'py', 1, 'vg', '${id(2)}', '${id(1)}', '1.4.1', '{}', 'h', '${t}', '${t}');`,
    task(21, "cached", "shared"),
    task(22, "plain", null),
    run(31),
    run(32),
    taskRun(41, 31, 21, "cached"),
    taskRun(42, 31, 22, "plain"),
    taskRun(43, 32, 21, "cached", 0),
    taskRun(44, 32, 22, "plain"),
  ].join("\n");
}

/** The task runs' cache keys after the migration, by id. */
export const MIGRATED_CACHE_KEYS = [
  { id: id(41), cache_key: "shared" },
  { id: id(42), cache_key: null },
  { id: id(43), cache_key: "shared" },
  { id: id(44), cache_key: null },
];
