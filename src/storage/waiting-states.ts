/**
 * The states of a run waiting for its start time. As SQL, written once: the partial index
 * task_run_waiting (migration 0003) has this exact list as its condition, and SQLite uses it
 * only for queries whose WHERE repeats it term for term.
 */
export const WAITING_STATES = ["Scheduled", "Queued", "Retrying"] as const;
export const WAITING_STATES_SQL = "('Scheduled', 'Queued', 'Retrying')";

/**
 * Prefect's Paused and Resume, the Scheduled family its engine writes on a task run that pauses
 * and is resumed: like the waiting states, due at their start time (a Paused one without a start
 * time waits for a person). Kept apart from WAITING_STATES so that the partial index stays usable.
 */
export const PAUSED_STATES_SQL = "('Paused', 'Resume')";
