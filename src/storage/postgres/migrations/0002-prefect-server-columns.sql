-- The columns Prefect's UI and client read that prefectlite had no place for (flow settings and
-- environment, a task's description, auto_generated and cache_key, an agent's agent_config_id),
-- and Prefect Server's task_run_artifact table. Existing rows get the defaults Server had.
ALTER TABLE flow ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
ALTER TABLE flow ADD COLUMN environment jsonb;
ALTER TABLE task ADD COLUMN description text;
ALTER TABLE task ADD COLUMN auto_generated boolean NOT NULL DEFAULT false;
ALTER TABLE task ADD COLUMN cache_key text;
ALTER TABLE agent ADD COLUMN agent_config_id uuid;

CREATE TABLE task_run_artifact (
  id uuid PRIMARY KEY,
  task_run_id uuid NOT NULL REFERENCES task_run(id) ON DELETE CASCADE,
  kind text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL
);
CREATE INDEX task_run_artifact_task_run ON task_run_artifact(task_run_id);
