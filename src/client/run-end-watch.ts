import { isFinishedType, type StateType } from "../core/state.ts";
import type { BackendClient } from "./client.ts";

export interface RunEndWatchOptions {
  /** Time between reads of the run's state. */
  intervalMs: number;
  /** How long the process may outlive the run's end (it normally exits right after writing it). */
  graceMs?: number;
  /** Told once the process was killed, with the state the run ended in. */
  onKilled?: (state: StateType) => void;
}

/** How long a run's process may outlive its run by default. */
export const DEFAULT_RUN_END_GRACE_MS = 5_000;

/**
 * While a run's process lives, read the run's state now and then; once the run has finished
 * elsewhere (the zombie killer or Lazarus failed it, someone cancelled it) and the process is
 * still alive a grace period later — hung at import or in a synchronous loop — kill it. Returns
 * the function that stops watching (call it when the process has exited).
 */
export function killWhenRunEndsElsewhere(
  client: BackendClient,
  flowRunId: string,
  kill: () => void,
  options: RunEndWatchOptions,
): () => void {
  const graceMs = options.graceMs ?? DEFAULT_RUN_END_GRACE_MS;
  let stopped = false;
  let endedSince: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = async () => {
    if (stopped) return;
    try {
      const data = await client.graphql<{ flow_run_by_pk: { state: StateType } | null }>(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`,
        { id: flowRunId },
      );
      const state = data.flow_run_by_pk?.state;
      if (state && isFinishedType(state)) {
        endedSince ??= Date.now();
        if (!stopped && Date.now() - endedSince >= graceMs) {
          stopped = true;
          kill();
          options.onKilled?.(state);
          return;
        }
      } else endedSince = undefined;
    } catch {
      // the backend is unreachable for a moment: try again at the next turn
    }
    if (!stopped) timer = setTimeout(check, options.intervalMs);
  };
  timer = setTimeout(check, options.intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
