/**
 * Fewer B-trees to update per run: every index is paid for on each run created (about 2.5 µs per
 * B-tree insert on this machine), and a hello-world run touched ~30.
 *
 * - flow_run: the idempotency key's unique index and the scheduler's index become partial (most
 *   runs have no key, and only the scheduler's runs are auto-scheduled); the zombie killer's
 *   (state, heartbeat) index goes, its scans being served by flow_run_queue's state prefix.
 * - task_run: one key, (flow run, task slug, map index) — a slug is unique within its flow, so
 *   this is also the (flow run, task, map index) key, and it finds task runs by slug — instead
 *   of a unique key on task_id plus a slug index; and no foreign key on task_id (a task is only
 *   deleted with its flow, whose runs go with it), so no task_id index either.
 *
 * Dropping a table-level UNIQUE or a foreign key means rebuilding the table (SQLite's documented
 * procedure: new table, copy, drop, rename), which runs with foreign keys off — else dropping
 * the old table would cascade into its children — and is checked with foreign_key_check.
 */
export const foreignKeysOff = true;

export const sql = `
CREATE TABLE flow_run_rebuilt (
  id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL REFERENCES flow(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '{}',
  context TEXT NOT NULL DEFAULT '{}',
  labels TEXT NOT NULL DEFAULT '[]',
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
  updated TEXT NOT NULL
);
INSERT INTO flow_run_rebuilt (id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
  idempotency_key, heartbeat, start_time, end_time, version, state, state_timestamp, state_message, state_result,
  state_start_time, serialized_state, times_resurrected, agent_id, created, updated)
SELECT id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
  idempotency_key, heartbeat, start_time, end_time, version, state, state_timestamp, state_message, state_result,
  state_start_time, serialized_state, times_resurrected, agent_id, created, updated
FROM flow_run ORDER BY rowid;
DROP TABLE flow_run;
ALTER TABLE flow_run_rebuilt RENAME TO flow_run;
CREATE UNIQUE INDEX flow_run_idempotency ON flow_run(flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX flow_run_flow_created ON flow_run(flow_id, created);
CREATE INDEX flow_run_created ON flow_run(created);
CREATE INDEX flow_run_queue ON flow_run(state, state_start_time);
CREATE INDEX flow_run_schedule ON flow_run(flow_id, scheduled_start_time) WHERE auto_scheduled = 1;

CREATE TABLE task_run_rebuilt (
  id TEXT PRIMARY KEY,
  flow_run_id TEXT NOT NULL REFERENCES flow_run(id) ON DELETE CASCADE,
  task_id TEXT NOT NULL,
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
  UNIQUE (flow_run_id, task_slug, map_index)
);
INSERT INTO task_run_rebuilt (id, flow_run_id, task_id, task_slug, map_index, name, version, heartbeat, start_time, end_time,
  state, state_timestamp, state_message, state_result, state_start_time, serialized_state, created, updated)
SELECT id, flow_run_id, task_id, task_slug, map_index, name, version, heartbeat, start_time, end_time,
  state, state_timestamp, state_message, state_result, state_start_time, serialized_state, created, updated
FROM task_run ORDER BY rowid;
DROP TABLE task_run;
ALTER TABLE task_run_rebuilt RENAME TO task_run;
CREATE INDEX task_run_state_col ON task_run(state, flow_run_id);
`;
