-- SQLite's migration 0007: task_run.cache_key, as Prefect Server has it. A task run takes its
-- task's cache key when it is created; Prefect's engine looks a task's caches up by it (key,
-- state Cached, state_timestamp at least, newest first). Existing task runs get their task's key.
-- The index holds only task runs with a key, in the lookup's column order.
ALTER TABLE task_run ADD COLUMN cache_key text;
UPDATE task_run SET cache_key = task.cache_key FROM task WHERE task.id = task_run.task_id AND task.cache_key IS NOT NULL;
CREATE INDEX task_run_cache_key ON task_run(cache_key, state, state_timestamp) WHERE cache_key IS NOT NULL;
