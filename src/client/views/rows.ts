import { isStateType, Scheduled, stateFromJSON, type SerializedState, type State, type StateType } from "../../core/state.ts";

/** A task run as the views read it (the fields of documents.ts's task-run view documents). */
export interface TaskRunRow {
  id: string;
  task_id: string;
  task_slug: string;
  map_index: number;
  flow_run_id: string;
  state: StateType | null;
  serialized_state: SerializedState | null;
  start_time: string | null;
  end_time: string | null;
  updated: string | null;
  task: { name: string } | null;
}

/** The state a row stores (its full serialized form when there is one); none yet reads as Scheduled. */
export function stateOfRow(row: { state: StateType | string | null; serialized_state: SerializedState | null }): State {
  const s = row.serialized_state;
  if (s && isStateType(s.type)) return stateFromJSON(s);
  if (isStateType(row.state)) return stateFromJSON({ type: row.state });
  return new Scheduled("A state for this run is not yet available.");
}

/** "slug" or "slug[3]", the way the engine names a task run in its log lines. */
export const taskRunLabel = (slug: string, mapIndex: number) => (mapIndex < 0 ? slug : `${slug}[${mapIndex}]`);
