/**
 * The task-run state index becomes two partial indexes over the only states anything looks
 * task runs up by: Running (the zombie killer and Lazarus, per flow run) and waiting to start
 * (Scheduled, Queued, Retrying: the agents' queue and the scheduler's next wake-up). Most task
 * runs are never in those indexes, or only while they run, so creating a flow run inserts no
 * entry for its task runs (it inserted one each), and a task run going Pending → Running →
 * Success adds and removes one entry instead of moving one through three places.
 *
 * The WHERE of each index is written exactly as the queries write it (WAITING_STATES_SQL in
 * storage/waiting-states.ts): SQLite uses a partial index only when the query's WHERE
 * contains the index's condition term for term.
 */
export const sql = `
DROP INDEX task_run_state_col;
CREATE INDEX task_run_running ON task_run(flow_run_id) WHERE state = 'Running';
CREATE INDEX task_run_waiting ON task_run(flow_run_id, state_start_time) WHERE state IN ('Scheduled', 'Queued', 'Retrying');
`;
