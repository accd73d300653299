import type { StateType } from "../core/state.ts";
import type { StaleFlowRun } from "./store.ts";

// What both stores' safeguard reads share: the SQL that is the same in both dialects and the rows
// they read. A run's last sign of life is its heartbeat, or, when it never beat, the time of its state.

export const LAST_SIGN_OF_LIFE = "COALESCE(fr.heartbeat, fr.state_timestamp)";
export const GROUP_JOIN = "JOIN flow f ON f.id = fr.flow_id JOIN flow_group g ON g.id = f.flow_group_id";
/**
 * Lazarus leaves a flow run alone while one of its task runs is Paused (Prefect's PAUSE): its
 * process ended on purpose and it waits for a person to resume it (as Prefect Server's Lazarus).
 */
export const NO_PAUSED_TASK_RUN = "NOT EXISTS (SELECT 1 FROM task_run tr WHERE tr.state = 'Paused' AND tr.flow_run_id = fr.id)";

export interface ZombieRow {
  id: string;
  flow_run_id: string;
  flow_run_state: string;
  task_slug: string;
  version: number;
  max_retries: number;
  retry_delay_ms: number;
  attempts: number;
}

export interface StaleRow {
  id: string;
  version: number;
  state: string;
  times_resurrected: number;
}

export const stale = (r: StaleRow): StaleFlowRun => ({
  id: r.id,
  version: r.version,
  state: r.state as StateType,
  timesResurrected: r.times_resurrected,
});
