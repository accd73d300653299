-- prefectlite's schema on PostgreSQL 15: SQLite's migrations 0001–0003 as they leave the schema,
-- with the same table and column names (the query compiler's tables.ts declares both). On purpose:
--   TEXT ids → uuid; TEXT times → timestamptz; JSON text → jsonb; 0/1 → boolean.
--   UNIQUE (flow_group_id, version): SQLite got distinct versions from BEGIN IMMEDIATE alone (its
--     migration 0004 adds the same unique index); it replaces SQLite's flow_flow_group index.
--   agent identity UNIQUE NULLS NOT DISTINCT: registering an agent's find-or-insert, made race-free.
--   task.position: the order tasks were declared in (SQLite reads it from rowid).
--   flow_run_due: the claim's order (due time, id) over waiting runs only.
-- Partial indexes keep the SQLite ones' conditions. The constraint names are PostgreSQL's defaults
-- (project_name_key, flow_group_name_key, flow_flow_group_id_version_key, task_flow_id_slug_key,
-- task_run_flow_run_id_task_slug_map_index_key) plus the named unique indexes agent_identity and
-- flow_run_idempotency: a 23505 names one of them.
-- schema_migrations is created by migrate.ts before any migration runs.
CREATE TABLE project (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);

CREATE TABLE flow_group (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  labels jsonb,
  schedule jsonb,
  settings jsonb NOT NULL,
  default_parameters jsonb NOT NULL DEFAULT '{}',
  run_config jsonb,
  description text,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);

CREATE TABLE flow (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  version integer NOT NULL,
  version_group_id text NOT NULL,
  flow_group_id uuid NOT NULL REFERENCES flow_group(id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES project(id) ON DELETE CASCADE,
  archived boolean NOT NULL DEFAULT false,
  core_version text NOT NULL,
  serialized_flow jsonb NOT NULL,
  serialized_hash text NOT NULL,
  storage jsonb,
  run_config jsonb,
  parameters jsonb NOT NULL DEFAULT '[]',
  schedule jsonb,
  is_schedule_active boolean NOT NULL DEFAULT false,
  description text,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL,
  UNIQUE (flow_group_id, version)
);
CREATE INDEX flow_project_name ON flow(project_id, name, version);
CREATE INDEX flow_name ON flow(name, archived);
CREATE INDEX flow_version_group ON flow(version_group_id, version);
CREATE INDEX flow_schedule_active ON flow(is_schedule_active, archived);

CREATE TABLE task (
  id uuid PRIMARY KEY,
  flow_id uuid NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  position integer NOT NULL DEFAULT 0,
  name text NOT NULL,
  slug text NOT NULL,
  type text NOT NULL,
  max_retries integer NOT NULL DEFAULT 0,
  retry_delay_ms integer NOT NULL DEFAULT 0,
  timeout_ms integer,
  trigger text NOT NULL,
  mapped boolean NOT NULL DEFAULT false,
  is_root_task boolean NOT NULL DEFAULT false,
  is_terminal_task boolean NOT NULL DEFAULT false,
  is_reference_task boolean NOT NULL DEFAULT false,
  tags jsonb NOT NULL DEFAULT '[]',
  created timestamptz NOT NULL,
  UNIQUE (flow_id, slug)
);

CREATE TABLE edge (
  id uuid PRIMARY KEY,
  flow_id uuid NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  upstream_task_id uuid NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  downstream_task_id uuid NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  key integer,
  mapped boolean NOT NULL DEFAULT false,
  created timestamptz NOT NULL
);
CREATE INDEX edge_flow ON edge(flow_id);

CREATE TABLE agent (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  type text NOT NULL,
  core_version text,
  labels jsonb NOT NULL DEFAULT '[]',
  last_queried timestamptz,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);
CREATE UNIQUE INDEX agent_identity ON agent(name, type, labels, core_version) NULLS NOT DISTINCT;

CREATE TABLE flow_run (
  id uuid PRIMARY KEY,
  flow_id uuid NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  name text NOT NULL,
  parameters jsonb NOT NULL DEFAULT '{}',
  context jsonb NOT NULL DEFAULT '{}',
  labels jsonb NOT NULL DEFAULT '[]',
  run_config jsonb,
  scheduled_start_time timestamptz NOT NULL,
  auto_scheduled boolean NOT NULL DEFAULT false,
  idempotency_key text,
  heartbeat timestamptz,
  start_time timestamptz,
  end_time timestamptz,
  version integer NOT NULL DEFAULT 0,
  state text,
  state_timestamp timestamptz,
  state_message text,
  state_result jsonb,
  state_start_time timestamptz,
  serialized_state jsonb,
  times_resurrected integer NOT NULL DEFAULT 0,
  agent_id uuid REFERENCES agent(id) ON DELETE SET NULL,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);
CREATE UNIQUE INDEX flow_run_idempotency ON flow_run(flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX flow_run_flow_created ON flow_run(flow_id, created);
CREATE INDEX flow_run_created ON flow_run(created);
CREATE INDEX flow_run_queue ON flow_run(state, state_start_time);
-- The claim's order (due time, id) over waiting runs only: a claim reads the first rows of this
-- index and stops, however long the backlog (without it, a sort of every due run per claim).
CREATE INDEX flow_run_due ON flow_run(state_start_time, id) WHERE state IN ('Scheduled', 'Queued', 'Retrying');
CREATE INDEX flow_run_schedule ON flow_run(flow_id, scheduled_start_time) WHERE auto_scheduled;

CREATE TABLE flow_run_state (
  id uuid PRIMARY KEY,
  flow_run_id uuid NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  state text NOT NULL,
  message text,
  result jsonb,
  start_time timestamptz,
  serialized_state jsonb NOT NULL,
  version integer NOT NULL,
  created timestamptz NOT NULL
);
CREATE INDEX flow_run_state_run ON flow_run_state(flow_run_id, timestamp);

CREATE TABLE task_run (
  id uuid PRIMARY KEY,
  flow_run_id uuid NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  task_id uuid NOT NULL,
  task_slug text NOT NULL,
  map_index integer NOT NULL DEFAULT -1,
  name text,
  version integer NOT NULL DEFAULT 0,
  heartbeat timestamptz,
  start_time timestamptz,
  end_time timestamptz,
  state text,
  state_timestamp timestamptz,
  state_message text,
  state_result jsonb,
  state_start_time timestamptz,
  serialized_state jsonb,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL,
  UNIQUE (flow_run_id, task_slug, map_index)
);
CREATE INDEX task_run_running ON task_run(flow_run_id) WHERE state = 'Running';
CREATE INDEX task_run_waiting ON task_run(flow_run_id, state_start_time) WHERE state IN ('Scheduled', 'Queued', 'Retrying');

CREATE TABLE task_run_state (
  id uuid PRIMARY KEY,
  task_run_id uuid NOT NULL REFERENCES task_run(id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  state text NOT NULL,
  message text,
  result jsonb,
  start_time timestamptz,
  serialized_state jsonb NOT NULL,
  version integer NOT NULL,
  created timestamptz NOT NULL
);
CREATE INDEX task_run_state_run ON task_run_state(task_run_id, timestamp);

CREATE TABLE log (
  id uuid PRIMARY KEY,
  flow_run_id uuid NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  task_run_id uuid REFERENCES task_run(id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  name text,
  level text NOT NULL DEFAULT 'INFO',
  message text NOT NULL,
  info jsonb,
  created timestamptz NOT NULL
);
CREATE INDEX log_flow_run ON log(flow_run_id, timestamp);
CREATE INDEX log_task_run ON log(task_run_id);
