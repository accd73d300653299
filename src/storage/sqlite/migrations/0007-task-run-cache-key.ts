/**
 * task_run.cache_key, as Prefect Server has it: a task run takes its task's cache key when it is
 * created, and Prefect's engine looks a task's caches up by it (`task_run(where: { cache_key,
 * state: "Cached", state_timestamp: { _gte } }, order_by: { state_timestamp: desc })`) across
 * every task and flow sharing the key. Existing task runs get their task's key, as they would
 * have had on Server.
 *
 * The index holds only task runs with a key (most have none), so creating and updating the
 * others costs nothing; its columns are the lookup's, so it is one range read in order. SQLite
 * uses a partial index on `x IS NOT NULL` for any `x = ?` term.
 */
export const sql = `
ALTER TABLE task_run ADD COLUMN cache_key TEXT;
UPDATE task_run SET cache_key = (SELECT task.cache_key FROM task WHERE task.id = task_run.task_id)
WHERE task_id IN (SELECT id FROM task WHERE cache_key IS NOT NULL);
CREATE INDEX task_run_cache_key ON task_run(cache_key, state, state_timestamp) WHERE cache_key IS NOT NULL;
`;
