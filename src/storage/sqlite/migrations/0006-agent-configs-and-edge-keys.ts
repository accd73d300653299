/**
 * Prefect Server's agent configs, and edge keys as Server has them.
 *
 * - agent_config (id, name, settings, created, updated); an agent's agent_config_id now refers to
 *   one (ON DELETE SET NULL, as Server's foreign key). No earlier version wrote agent_config_id
 *   (register_agent refused one), so the rebuilt agent table starts with none.
 * - edge.key becomes text: the name of the argument the upstream result is bound to. A Python
 *   flow's edges get back the name Prefect sent (kept in the stored serialized flow; earlier
 *   versions stored its position among the task's inputs): the nth row of an (upstream,
 *   downstream) pair, in id order (the order they were inserted), takes the key of the nth stored
 *   edge of that pair. A TypeScript flow binds arguments by position: its keys become the position
 *   as text ("0", "1", …).
 *
 * Adding a foreign key or changing a column's type means rebuilding the table (SQLite's documented
 * procedure: new table, copy, drop, rename), with foreign keys off — else dropping agent would set
 * its runs' agent_id to NULL — and checked with foreign_key_check.
 */
export const foreignKeysOff = true;

export const sql = `
CREATE TABLE agent_config (
  id TEXT PRIMARY KEY,
  name TEXT,
  settings TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);

CREATE TABLE agent_rebuilt (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  core_version TEXT,
  labels TEXT NOT NULL DEFAULT '[]',
  last_queried TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  agent_config_id TEXT REFERENCES agent_config(id) ON DELETE SET NULL
);
INSERT INTO agent_rebuilt (id, name, type, core_version, labels, last_queried, created, updated, agent_config_id)
SELECT id, name, type, core_version, labels, last_queried, created, updated, NULL FROM agent ORDER BY rowid;
DROP TABLE agent;
ALTER TABLE agent_rebuilt RENAME TO agent;
CREATE INDEX agent_identity ON agent(name, type, labels);
CREATE INDEX agent_agent_config ON agent(agent_config_id);

CREATE TABLE edge_rebuilt (
  id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  upstream_task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  downstream_task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  key TEXT,                             -- the argument's name (a TypeScript task's: its position), NULL for an ordering-only edge
  mapped INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL
);
WITH python_flow AS (
  SELECT id, serialized_flow FROM flow WHERE json_type(serialized_flow, '$.__version__') = 'text'
),
sent AS (
  SELECT f.id AS flow_id, s.id AS ord,
    COALESCE(json_extract(s.value, '$.upstream_task.slug'), json_extract(s.value, '$.upstream_task')) AS up,
    COALESCE(json_extract(s.value, '$.downstream_task.slug'), json_extract(s.value, '$.downstream_task')) AS down,
    CASE WHEN json_type(s.value, '$.key') = 'text' THEN json_extract(s.value, '$.key') END AS key
  FROM python_flow f, json_each(f.serialized_flow, '$.edges') s
),
sent_nth AS (
  SELECT flow_id, up, down, key, ROW_NUMBER() OVER (PARTITION BY flow_id, up, down ORDER BY ord) AS nth FROM sent
),
stored_nth AS (
  SELECT e.id, e.flow_id, u.slug AS up, d.slug AS down,
    ROW_NUMBER() OVER (PARTITION BY e.flow_id, e.upstream_task_id, e.downstream_task_id ORDER BY e.id) AS nth
  FROM edge e JOIN python_flow f ON f.id = e.flow_id JOIN task u ON u.id = e.upstream_task_id JOIN task d ON d.id = e.downstream_task_id
),
python_key AS (
  SELECT r.id, s.key FROM stored_nth r
  LEFT JOIN sent_nth s ON s.flow_id = r.flow_id AND s.up = r.up AND s.down = r.down AND s.nth = r.nth
)
INSERT INTO edge_rebuilt (id, flow_id, upstream_task_id, downstream_task_id, key, mapped, created)
SELECT e.id, e.flow_id, e.upstream_task_id, e.downstream_task_id,
  CASE WHEN p.id IS NOT NULL THEN p.key WHEN e.key IS NOT NULL THEN CAST(e.key AS TEXT) END,
  e.mapped, e.created
FROM edge e LEFT JOIN python_key p ON p.id = e.id ORDER BY e.rowid;
DROP TABLE edge;
ALTER TABLE edge_rebuilt RENAME TO edge;
CREATE INDEX edge_flow ON edge(flow_id);
`;
