/**
 * The columns Prefect's UI and client read that prefectlite had no place for (flow settings and
 * environment, a task's description, auto_generated and cache_key, an agent's agent_config_id),
 * and Prefect Server's task_run_artifact table. Existing rows get the defaults Server had.
 */
export const sql = `
ALTER TABLE flow ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE flow ADD COLUMN environment TEXT;
ALTER TABLE task ADD COLUMN description TEXT;
ALTER TABLE task ADD COLUMN auto_generated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task ADD COLUMN cache_key TEXT;
ALTER TABLE agent ADD COLUMN agent_config_id TEXT;

CREATE TABLE task_run_artifact (
  id TEXT PRIMARY KEY,
  task_run_id TEXT NOT NULL REFERENCES task_run(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  created TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE INDEX task_run_artifact_task_run ON task_run_artifact(task_run_id);
`;
