/**
 * The data model of Prefect Server 1.x (reference §1), on SQLite. Times are ISO-8601 UTC text
 * with milliseconds (they sort as text); JSON columns hold JSON text; booleans are 0/1.
 */
export const sql = `
CREATE TABLE project (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);

CREATE TABLE flow_group (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,            -- the version_group_id
  labels TEXT,                          -- JSON array or NULL (NULL is not [])
  schedule TEXT,                        -- JSON or NULL: overrides the flow's schedule
  settings TEXT NOT NULL,               -- JSON: heartbeat_enabled, lazarus_enabled, version_locking_enabled, idempotency_key
  default_parameters TEXT NOT NULL DEFAULT '{}',
  run_config TEXT,
  description TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);

CREATE TABLE flow (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  version_group_id TEXT NOT NULL,
  flow_group_id TEXT NOT NULL REFERENCES flow_group(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL REFERENCES project(id) ON DELETE CASCADE,
  archived INTEGER NOT NULL DEFAULT 0,
  core_version TEXT NOT NULL,
  serialized_flow TEXT NOT NULL,
  serialized_hash TEXT NOT NULL,
  storage TEXT,
  run_config TEXT,
  parameters TEXT NOT NULL DEFAULT '[]',
  schedule TEXT,
  is_schedule_active INTEGER NOT NULL DEFAULT 0,
  description TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE INDEX flow_project_name ON flow(project_id, name, version);
CREATE INDEX flow_name ON flow(name, archived);
CREATE INDEX flow_version_group ON flow(version_group_id, version);
CREATE INDEX flow_flow_group ON flow(flow_group_id, version);
CREATE INDEX flow_schedule_active ON flow(is_schedule_active, archived);

CREATE TABLE task (
  id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  slug TEXT NOT NULL,
  type TEXT NOT NULL,                   -- 'task' or 'parameter'
  max_retries INTEGER NOT NULL DEFAULT 0,
  retry_delay_ms INTEGER NOT NULL DEFAULT 0,
  timeout_ms INTEGER,
  trigger TEXT NOT NULL,
  mapped INTEGER NOT NULL DEFAULT 0,
  is_root_task INTEGER NOT NULL DEFAULT 0,
  is_terminal_task INTEGER NOT NULL DEFAULT 0,
  is_reference_task INTEGER NOT NULL DEFAULT 0,
  tags TEXT NOT NULL DEFAULT '[]',
  created TEXT NOT NULL,
  UNIQUE (flow_id, slug)
);

CREATE TABLE edge (
  id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  upstream_task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  downstream_task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  key INTEGER,                          -- argument position, NULL for an ordering-only edge
  mapped INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL
);
CREATE INDEX edge_flow ON edge(flow_id);

CREATE TABLE agent (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  core_version TEXT,
  labels TEXT NOT NULL DEFAULT '[]',    -- sorted JSON array
  last_queried TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE INDEX agent_identity ON agent(name, type, labels);

CREATE TABLE flow_run (
  id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '{}',
  context TEXT NOT NULL DEFAULT '{}',
  labels TEXT NOT NULL DEFAULT '[]',    -- sorted JSON array
  run_config TEXT,
  scheduled_start_time TEXT NOT NULL,
  auto_scheduled INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT,
  heartbeat TEXT,
  start_time TEXT,
  end_time TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  state TEXT,
  state_timestamp TEXT,
  state_message TEXT,
  state_result TEXT,
  state_start_time TEXT,
  serialized_state TEXT,
  times_resurrected INTEGER NOT NULL DEFAULT 0,
  agent_id TEXT REFERENCES agent(id) ON DELETE SET NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  UNIQUE (flow_id, idempotency_key)
);
CREATE INDEX flow_run_flow_created ON flow_run(flow_id, created);
CREATE INDEX flow_run_created ON flow_run(created);
CREATE INDEX flow_run_queue ON flow_run(state, state_start_time);
CREATE INDEX flow_run_heartbeat ON flow_run(state, heartbeat);
CREATE INDEX flow_run_schedule ON flow_run(flow_id, auto_scheduled, scheduled_start_time);

CREATE TABLE flow_run_state (
  id TEXT PRIMARY KEY,
  flow_run_id TEXT NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL,
  state TEXT NOT NULL,
  message TEXT,
  result TEXT,
  start_time TEXT,
  serialized_state TEXT NOT NULL,
  version INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE INDEX flow_run_state_run ON flow_run_state(flow_run_id, timestamp);

CREATE TABLE task_run (
  id TEXT PRIMARY KEY,
  flow_run_id TEXT NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
  task_slug TEXT NOT NULL,
  map_index INTEGER NOT NULL DEFAULT -1,
  name TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  heartbeat TEXT,
  start_time TEXT,
  end_time TEXT,
  state TEXT,
  state_timestamp TEXT,
  state_message TEXT,
  state_result TEXT,
  state_start_time TEXT,
  serialized_state TEXT,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  UNIQUE (flow_run_id, task_id, map_index)
);
CREATE INDEX task_run_slug ON task_run(flow_run_id, task_slug, map_index);
CREATE INDEX task_run_state_col ON task_run(state, flow_run_id);
CREATE INDEX task_run_task ON task_run(task_id);

CREATE TABLE task_run_state (
  id TEXT PRIMARY KEY,
  task_run_id TEXT NOT NULL REFERENCES task_run(id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL,
  state TEXT NOT NULL,
  message TEXT,
  result TEXT,
  start_time TEXT,
  serialized_state TEXT NOT NULL,
  version INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE INDEX task_run_state_run ON task_run_state(task_run_id, timestamp);

CREATE TABLE log (
  id TEXT PRIMARY KEY,
  flow_run_id TEXT NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  task_run_id TEXT REFERENCES task_run(id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL,
  name TEXT,
  level TEXT NOT NULL DEFAULT 'INFO',
  message TEXT NOT NULL,
  info TEXT,
  created TEXT NOT NULL
);
CREATE INDEX log_flow_run ON log(flow_run_id, timestamp);
CREATE INDEX log_task_run ON log(task_run_id);
`;
