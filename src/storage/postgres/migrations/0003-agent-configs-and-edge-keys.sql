-- SQLite's migration 0006: Prefect Server's agent configs, and edge keys as Server has them.
-- agent_config (id, name, settings, created, updated); agent.agent_config_id refers to one
-- (ON DELETE SET NULL, as Server's foreign key). No earlier version wrote agent_config_id.
-- edge.key becomes text, the argument's name: a Python flow's edges get back the name Prefect sent
-- (the nth row of an (upstream, downstream) pair in id order takes the key of the nth stored edge
-- of that pair); a TypeScript flow's keys become their position as text.
CREATE TABLE agent_config (
  id uuid PRIMARY KEY,
  name text,
  settings jsonb NOT NULL DEFAULT '{}',
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);
UPDATE agent SET agent_config_id = NULL WHERE agent_config_id IS NOT NULL;
ALTER TABLE agent ADD CONSTRAINT agent_agent_config_id_fkey FOREIGN KEY (agent_config_id) REFERENCES agent_config(id) ON DELETE SET NULL;
CREATE INDEX agent_agent_config ON agent(agent_config_id);

ALTER TABLE edge ALTER COLUMN key TYPE text USING key::text;
WITH python_flow AS (
  SELECT id, serialized_flow FROM flow WHERE jsonb_typeof(serialized_flow -> '__version__') = 'string'
),
sent AS (
  SELECT f.id AS flow_id, s.ord,
    COALESCE(s.value #>> '{upstream_task,slug}', CASE WHEN jsonb_typeof(s.value -> 'upstream_task') = 'string' THEN s.value ->> 'upstream_task' END) AS up,
    COALESCE(s.value #>> '{downstream_task,slug}', CASE WHEN jsonb_typeof(s.value -> 'downstream_task') = 'string' THEN s.value ->> 'downstream_task' END) AS down,
    CASE WHEN jsonb_typeof(s.value -> 'key') = 'string' THEN s.value ->> 'key' END AS key
  FROM python_flow f,
    jsonb_array_elements(CASE WHEN jsonb_typeof(f.serialized_flow -> 'edges') = 'array' THEN f.serialized_flow -> 'edges' ELSE '[]'::jsonb END)
      WITH ORDINALITY AS s(value, ord)
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
UPDATE edge SET key = p.key FROM python_key p WHERE edge.id = p.id;
