import { id, T } from "./query-seed.ts";

/**
 * Rows as the schema before agent configs and text edge keys held them (SQLite 5, PostgreSQL 2),
 * for both migrations' tests: a TypeScript flow whose edge keys are argument positions, and a
 * Python flow whose keys were positions among its tasks' inputs while its stored serialized flow
 * keeps Prefect's names. `no` is the database's false (SQLite 0, PostgreSQL false).
 *
 *   TypeScript flow 11: a → b as arguments 0 and 1 (one upstream bound twice), c → b ordering-only.
 *   Python flow 12: n → add (x), m → add (y) and m → add again (z: the same pair twice, the rows
 *   in id order), n → out ordering-only (slugs sent as plain strings), and a row whose pair the
 *   stored form lacks.
 *   An agent with a run it took.
 */
export function edgeKeyFixture(no: string): string {
  const t = T(0);
  const task = (n: number, flow: number, slug: string) =>
    `INSERT INTO task (id, flow_id, name, slug, type, trigger, created) VALUES ('${id(n)}', '${id(flow)}', '${slug}', '${slug}', 'task', 'all_successful', '${t}');`;
  const edge = (n: number, flow: number, up: number, down: number, key: number | null) =>
    `INSERT INTO edge (id, flow_id, upstream_task_id, downstream_task_id, key, mapped, created) VALUES ('${id(n)}', '${id(flow)}', '${id(up)}', '${id(down)}', ${key ?? "NULL"}, ${no}, '${t}');`;
  const prefectEdge = (up: unknown, down: unknown, key: string | null) => ({ upstream_task: up, downstream_task: down, key, mapped: false, __version__: "1.4.1" });
  const python = JSON.stringify({
    __version__: "1.4.1",
    name: "py",
    tasks: [],
    edges: [
      prefectEdge({ slug: "n" }, { slug: "add" }, "x"),
      prefectEdge({ slug: "m" }, { slug: "add" }, "y"),
      prefectEdge({ slug: "m" }, { slug: "add" }, "z"),
      prefectEdge("n", "out", null),
    ],
  });
  const typescript = JSON.stringify({ name: "ts", tasks: [], edges: [{ upstream: "a", downstream: "b", key: 0, mapped: false }] });
  const flow = (n: number, name: string, serialized: string, version: number) =>
    `INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
       VALUES ('${id(n)}', '${name}', ${version}, 'vg', '${id(2)}', '${id(1)}', '1.4.1', '${serialized}', 'h${n}', '${t}', '${t}');`;
  return [
    `INSERT INTO project (id, name, created, updated) VALUES ('${id(1)}', 'proj', '${t}', '${t}');`,
    `INSERT INTO flow_group (id, name, settings, created, updated) VALUES ('${id(2)}', 'vg', '{}', '${t}', '${t}');`,
    flow(11, "ts", typescript, 1),
    flow(12, "py", python, 2),
    task(21, 11, "a"),
    task(22, 11, "b"),
    task(23, 11, "c"),
    edge(31, 11, 21, 22, 0),
    edge(32, 11, 21, 22, 1),
    edge(33, 11, 23, 22, null),
    task(41, 12, "n"),
    task(42, 12, "m"),
    task(43, 12, "add"),
    task(44, 12, "out"),
    edge(51, 12, 41, 43, 0),
    edge(52, 12, 42, 43, 1),
    edge(53, 12, 42, 43, 2),
    edge(54, 12, 41, 44, null),
    edge(55, 12, 43, 44, 0),
    `INSERT INTO agent (id, name, type, labels, created, updated) VALUES ('${id(61)}', 'agent', 'LocalAgent', '[]', '${t}', '${t}');`,
    `INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, agent_id, created, updated) VALUES ('${id(71)}', '${id(11)}', 'run', '${t}', '${id(61)}', '${t}', '${t}');`,
  ].join("\n");
}

/** The edge keys after the migration, by edge id. */
export const MIGRATED_EDGE_KEYS: Record<string, string | null> = {
  [id(31)]: "0",
  [id(32)]: "1",
  [id(33)]: null,
  [id(51)]: "x",
  [id(52)]: "y",
  [id(53)]: "z",
  [id(54)]: null,
  [id(55)]: null,
};
